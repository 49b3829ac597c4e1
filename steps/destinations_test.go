package steps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/rehearse/rehearse/clusters"
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

type recordingCluster struct {
	name    string
	deleted *[]string
	mu      *sync.Mutex
	fail    error
}

func (c recordingCluster) Name() string             { return c.name }
func (c recordingCluster) KubeconfigPath() string   { return "" }
func (c recordingCluster) RESTConfig() *rest.Config { return &rest.Config{} }
func (c recordingCluster) Delete(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.deleted = append(*c.deleted, c.name)
	return c.fail
}

func TestReleaseDestinationClustersStopsEachAndForgetsIt(t *testing.T) {
	env, err := NewEnvironment(EnvOptions{})
	require.NoError(t, err)
	var deleted []string
	var mu sync.Mutex
	for _, name := range []string{"dev", "staging", "prod"} {
		var fail error
		if name == "staging" {
			fail = errors.New("etcd did not stop")
		}
		env.extra[name] = recordingCluster{name: name, deleted: &deleted, mu: &mu, fail: fail}
		env.extraOrder = append(env.extraOrder, name)
	}

	err = env.releaseDestinationClusters(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stopping cluster staging: etcd did not stop")
	assert.ElementsMatch(t, []string{"dev", "staging", "prod"}, deleted, "every cluster stopped, the failing one too")
	assert.Empty(t, env.extra)
	assert.Empty(t, env.extraOrder)

	require.NoError(t, env.releaseDestinationClusters(context.Background()), "nothing left: nothing to do")
	assert.Len(t, deleted, 3, "none stopped twice")
}

var _ clusters.Cluster = recordingCluster{}
