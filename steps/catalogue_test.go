package steps

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEveryStepIsDocumentedWithAMatchingExample(t *testing.T) {
	seen := map[string]bool{}
	matcher := newStepMatcher()
	for _, d := range Catalogue() {
		assert.False(t, seen[d.Pattern], "duplicate pattern %s", d.Pattern)
		seen[d.Pattern] = true
		assert.NotEmpty(t, d.Doc, d.Pattern)
		re := regexp.MustCompile(d.Pattern)
		// Examples start with a Gherkin keyword, which is not part of the
		// pattern, and may go on with a doc string or table.
		text, _, _ := strings.Cut(d.Example, "\n")
		for _, kw := range []string{"Given ", "When ", "Then ", "And ", "But "} {
			text = strings.TrimPrefix(text, kw)
		}
		assert.True(t, re.MatchString(text), "example %q does not match %s", d.Example, d.Pattern)
		assert.Len(t, matcher.match(text), 1, "example %q is ambiguous", d.Example)
	}
}

func TestDocsStepsMdIsUpToDate(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteMarkdown(&b))
	got, err := os.ReadFile("../docs/steps.md")
	require.NoError(t, err, "docs/steps.md is missing: run make docs")
	assert.Equal(t, b.String(), string(got), "docs/steps.md is stale: run make docs")
}
