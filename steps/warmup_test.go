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
	project := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "services", "api"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(project, "shared", "web"), 0o755))
	feature := `@canary
Feature: f
  Background:
    Given the registry holds "qsign-prod/app:v1.0.0" built from the folder "services/api"

  Scenario: good
    Given the registry holds "qsign-prod/app:v2.0.0" built from the folder "services/api" with its "behaviour.json" reading:
      """
      {"errorRate": 0}
      """
    And the registry holds "team/web:v1" built from the folder "shared/web"
    And the registry holds "team/gone:v1" built from the folder "no-such-folder"

  @slow
  Scenario: slow
    Given the registry holds "qsign-prod/app:v2.0.2" built from the folder "services/api" with its "behaviour.json" reading:
      """
      {"latency": "400ms"}
      """
`
	path := filepath.Join(dir, "a.feature")
	require.NoError(t, os.WriteFile(path, []byte(feature), 0o644))
	api := filepath.Join(dir, "services", "api")

	all := imagesToBuild(selectedScenarios([]string{dir}, ""), project)
	assert.Equal(t, []lane.WarmImage{
		{Dir: api, Version: "v1.0.0"},
		{Dir: api, Version: "v2.0.0", Replaced: map[string][]byte{"behaviour.json": []byte("{\"errorRate\": 0}\n")}},
		{Dir: filepath.Join(project, "shared", "web"), Version: "v1"},
		{Dir: api, Version: "v1.0.0"},
		{Dir: api, Version: "v2.0.2", Replaced: map[string][]byte{"behaviour.json": []byte("{\"latency\": \"400ms\"}\n")}},
	}, all, "in the order the run meets them (the background once per scenario), a folder as the step locates it, "+
		"one not found left for the step to report")

	notSlow := imagesToBuild(selectedScenarios([]string{dir}, "@canary&&~@slow"), project)
	assert.Len(t, notSlow, 3)

	assert.Empty(t, imagesToBuild(selectedScenarios([]string{path + ":6"}, ""), project), "one scenario by line: no warm-up")
	assert.Empty(t, imagesToBuild(selectedScenarios([]string{dir}, "@flow-2"), project))
}

// The seed's features ask for the images the warm-up finds: a step pattern
// changed without this list would silently end the warm-up.
func TestImagesToBuildFindsTheFeaturesImages(t *testing.T) {
	images := imagesToBuild(selectedScenarios([]string{"../features"}, ""), "..")
	require.NotEmpty(t, images)
	app, err := filepath.Abs("../fixtures/repos/q-sign-app")
	require.NoError(t, err)
	first, err := filepath.Abs(images[0].Dir)
	require.NoError(t, err)
	assert.Equal(t, app, first)
	assert.Equal(t, "v1.0.0", images[0].Version)
	for _, d := range Catalogue() {
		if d.Pattern == folderImageStep.String() || d.Pattern == folderImageWithFileStep.String() {
			continue
		}
		// An image file is not warmed up: it is read, not built.
		if strings.Contains(d.Pattern, "from the image file") {
			continue
		}
		assert.NotContains(t, d.Pattern, "^the registry holds \"", "an image-building step the warm-up does not know: %s", d.Pattern)
	}
}
