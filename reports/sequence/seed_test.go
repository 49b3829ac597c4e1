package sequence

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheSeedHas157NumberedSteps(t *testing.T) {
	doc, err := os.ReadFile("../../features/seed/gitops-flows.md")
	require.NoError(t, err)
	flows, err := ParseSeed(doc)
	require.NoError(t, err)
	want := map[int]int{1: 31, 2: 20, 3: 20, 4: 17, 5: 15, 6: 16, 7: 18, 8: 20}
	total := 0
	for _, f := range flows {
		if n, ok := want[f.Number]; ok {
			assert.Len(t, f.Steps, n, "flow %d %s", f.Number, f.Title)
			total += len(f.Steps)
		}
	}
	assert.Equal(t, 157, total)
	one := flows[0]
	assert.Equal(t, "Jenkins CI", one.Name("Jenkins"))
	assert.Equal(t, Step{Label: "1", Number: 1, From: "Dev", To: "GL", Text: "git push origin main (code change)", Line: one.Steps[0].Line}, one.Steps[0])
	assert.Equal(t, "K8s", one.Steps[24].From)
}

func TestParseSeedRejectsRepeatedNumbers(t *testing.T) {
	doc := "## 1. A\n```mermaid\nsequenceDiagram\n  participant A\n  A->>A: 1. one\n  A->>A: 1. again\n```\n"
	_, err := ParseSeed([]byte(doc))
	assert.ErrorContains(t, err, "seed line 6: step 1 of flow 1 is numbered twice")
	doc = "## 1. A\n```mermaid\n  A->>A: 2. two\n  A->>A: 1. one\n```\n"
	_, err = ParseSeed([]byte(doc))
	assert.ErrorContains(t, err, "seed line 4: step 1 of flow 1 comes after step 2")
	doc = "## 7. C\n```mermaid\n  A->>A: 9. x\n  A->>A: 10a. good\n  A->>A: 10b. bad\n```\n"
	flows, err := ParseSeed([]byte(doc))
	require.NoError(t, err)
	assert.Equal(t, []string{"9", "10a", "10b"}, []string{flows[0].Steps[0].Label, flows[0].Steps[1].Label, flows[0].Steps[2].Label})
}

func FuzzParseSeed(f *testing.F) {
	doc, _ := os.ReadFile("../../features/seed/gitops-flows.md")
	f.Add(doc)
	f.Add([]byte("## 2. B\n```mermaid\n participant X as Y\n X-->>X: 3. z<br/>w\n```"))
	f.Fuzz(func(t *testing.T, in []byte) {
		flows, err := ParseSeed(in)
		if err != nil {
			return
		}
		for _, fl := range flows {
			for i := 1; i < len(fl.Steps); i++ {
				if fl.Steps[i].Label == fl.Steps[i-1].Label {
					t.Fatalf("steps out of order in flow %d", fl.Number)
				}
			}
		}
	})
}
