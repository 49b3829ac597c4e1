package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/engine/lane"
)

func TestMatchesTagFilter(t *testing.T) {
	for _, c := range []struct {
		filter string
		tags   []string
		want   bool
	}{
		{"", nil, true},
		{"@flow-2", []string{"@flow-2"}, true},
		{"@flow-2", []string{"@flow-3"}, false},
		{"@flow-6,@flow-7", []string{"@flow-7"}, true},
		{"@flow-7&&~@slow", []string{"@flow-7", "@slow"}, false},
		{"@flow-7&&~@slow", []string{"@flow-7"}, true},
		{"~@slow", nil, true},
	} {
		assert.Equal(t, c.want, matchesTagFilter(c.filter, c.tags), "%q on %v", c.filter, c.tags)
	}
}

func TestImagesToBuildFollowsTheSelectedScenarios(t *testing.T) {
	dir := t.TempDir()
	feature := `@canary
Feature: f
  Background:
    Given the registry holds "qsign-prod/app:v1.0.0" built from the "q-sign-app" fixture

  Scenario: good
    Given the registry holds "qsign-prod/app:v2.0.0" built from the "q-sign-app" fixture with behaviour:
      """
      {"errorRate": 0}
      """

  @slow
  Scenario: slow
    Given the registry holds "qsign-prod/app:v2.0.2" built from the "q-sign-app" fixture with behaviour:
      """
      {"latency": "400ms"}
      """
`
	path := filepath.Join(dir, "a.feature")
	require.NoError(t, os.WriteFile(path, []byte(feature), 0o644))

	all := imagesToBuild(selectedScenarios([]string{dir}, ""))
	assert.Equal(t, []lane.FixtureImage{
		{Fixture: "q-sign-app", Version: "v1.0.0"},
		{Fixture: "q-sign-app", Version: "v2.0.0", Behaviour: `{"errorRate": 0}`},
		{Fixture: "q-sign-app", Version: "v2.0.2", Behaviour: `{"latency": "400ms"}`},
	}, all, "each image once, in the order the run meets them")

	notSlow := imagesToBuild(selectedScenarios([]string{dir}, "@canary&&~@slow"))
	assert.Len(t, notSlow, 2)

	assert.Empty(t, imagesToBuild(selectedScenarios([]string{path + ":6"}, "")), "one scenario by line: no warm-up")
	assert.Empty(t, imagesToBuild(selectedScenarios([]string{dir}, "@flow-2")))
}

// The seed's features ask for the images the warm-up finds: a step pattern
// changed without this list would silently end the warm-up.
func TestImagesToBuildFindsTheFeaturesImages(t *testing.T) {
	images := imagesToBuild(selectedScenarios([]string{"../features"}, ""))
	require.NotEmpty(t, images)
	assert.Equal(t, lane.FixtureImage{Fixture: "q-sign-app", Version: "v1.0.0"}, images[0])
	for _, d := range Catalogue() {
		if d.Pattern == prebuiltStep.String() || d.Pattern == prebuiltBehaviourStep.String() {
			continue
		}
		// A folder build or an image file is not warmed up: the scenario
		// resolves its path (beside the feature file, else the project
		// root) and builds or reads it then.
		if strings.Contains(d.Pattern, "built from the folder") || strings.Contains(d.Pattern, "from the image file") {
			continue
		}
		assert.NotContains(t, d.Pattern, "^the registry holds \"", "a prebuilt-image step the warm-up does not know: %s", d.Pattern)
	}
}
