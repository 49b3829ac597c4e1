package steps

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClusterDemandEndsWithTheLastScenarioThatRegistersClusters(t *testing.T) {
	dir := t.TempDir()
	feature := `Feature: f
  Scenario: one
    Given the clusters "dev", "staging" and "prod" are registered with Argo CD

  Scenario: plain
    Given the registry has the private project "p"

  @slow
  Scenario: two
    Given the clusters "dev", "staging" and "prod" are registered with Argo CD
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.feature"), []byte(feature), 0o644))
	scenarios := selectedScenarios([]string{dir}, "")
	require.Len(t, scenarios, 3)
	one, plain, two := scenarios[0], scenarios[1], scenarios[2]

	d := newClusterDemand(scenarios)
	assert.False(t, d.finished(one), "'two' still registers them")
	assert.False(t, d.finished(plain))
	assert.True(t, d.finished(two), "the last one has finished")
	assert.True(t, d.finished(plain), "and stays so for every lane that frees up later")

	notSlow := newClusterDemand(selectedScenarios([]string{dir}, "~@slow"))
	assert.True(t, notSlow.finished(one), "'two' is not selected: 'one' was the last")

	none := newClusterDemand(selectedScenarios([]string{dir}, "@flow-2"))
	assert.False(t, none.finished(plain), "no scenario selected: the run cannot know, it keeps its clusters")

	byLine := newClusterDemand(selectedScenarios([]string{filepath.Join(dir, "a.feature") + ":2"}, ""))
	assert.False(t, byLine.finished(one), "one scenario by line: not counted, clusters kept to the end")
}

// The step definition and the counter use the same pattern: one changed
// without the other would keep the clusters to the end without a word.
func TestRegisterClustersStepIsTheCataloguesPattern(t *testing.T) {
	var found bool
	for _, d := range Catalogue() {
		if d.Pattern == registerClustersStep.String() {
			found = true
		}
	}
	assert.True(t, found)
	scenarios := selectedScenarios([]string{"../features"}, "@flow-8")
	require.NotEmpty(t, scenarios)
	for _, p := range scenarios {
		assert.True(t, registersClusters(p), "flow 8's %q registers its clusters", p.Name)
	}
}
