package reports

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/reports/sequence"
)

// The report must open in a browser with no network and show the diagram:
// Debian's headless Chromium loads it and the DOM it built is checked.
func TestIndexOpensInHeadlessChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil || testing.Short() {
		t.Skip("Debian's chromium is not installed (apt-get install chromium)")
	}
	flow := sequence.Flow{Number: 4, Title: "Self-Heal", Participants: []sequence.Participant{{Alias: "Ops", Name: "Operator (kubectl)"}, {Alias: "K8s", Name: "Kubernetes"}},
		Steps: []sequence.Step{{Label: "1", Number: 1, From: "Ops", To: "K8s", Text: "kubectl scale"},
			{Label: "2", Number: 2, From: "K8s", To: "Ops", Text: "scaled"}}}
	play := sequence.Plays[4]
	t0 := time.Now()
	events := []sequence.Event{{Time: t0, From: sequence.Operator, To: sequence.Kubernetes, Message: "kubectl scale deployment keycloak --replicas=5"}}
	d := sequence.Build(flow, play.Cast, events)
	cov := sequence.Cover(flow, play.Cast, play.Rules, events)
	// Step 1 is asserted by a Then step, step 2 has no record: the page
	// must tell the three verdicts apart.
	cov.Assert([]sequence.Claim{{Flow: 4, Labels: []string{"1"}, Step: "features/04_self_heal.feature:5"}})
	root := t.TempDir()
	run, err := NewRun(root, t0)
	require.NoError(t, err)
	s := Summary{Started: t0, Passed: 1, Scenarios: []ScenarioOutcome{{Feature: "04_self_heal.feature", Scenario: "scale reverted",
		Passed: true, Flow: 4, Coverage: &cov, SVG: d.SVG(), Mermaid: d.Mermaid()}}}
	s.Coverage = Coverage(s.Scenarios)
	// What godog's cucumber formatter writes for that scenario.
	require.NoError(t, os.WriteFile(run.CucumberJSON(), []byte(`[{"uri":"features/04_self_heal.feature","name":"Self-heal","elements":[
		{"name":"scale reverted","line":3,"type":"scenario","steps":[{"keyword":"When ","name":"the operator scales","line":4,
		"result":{"status":"passed","duration":1000}}]}]}]`), 0o644))
	require.NoError(t, run.WriteHTML(s))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page := "file://" + filepath.Join(run.Dir, "index.html")
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	dom, err := cmd.Output()
	require.NoError(t, err)
	html := string(dom)
	assert.Contains(t, html, "1 / 2", "asserted of all steps")
	assert.Contains(t, html, "features/04_self_heal.feature:5", "the asserting Then step is named")
	assert.Contains(t, html, "<td>2. scaled</td><td>missing</td>")
	assert.Contains(t, html, "<svg")
	assert.Contains(t, html, "kubectl scale deployment keycloak --replicas=5")
	assert.True(t, strings.Contains(html, "Operator (kubectl)"), "the seed's participant name is drawn")
	assert.NotContains(t, html, "Operator (kubectl) (Operator)", "a seed name that says its role is not annotated again")
}
