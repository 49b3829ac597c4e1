package lane

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/rehearse/rehearse/clusters"
)

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
	env, err := New(Options{})
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

	err = env.ReleaseDestinationClusters(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stopping cluster staging: etcd did not stop")
	assert.ElementsMatch(t, []string{"dev", "staging", "prod"}, deleted, "every cluster stopped, the failing one too")
	assert.Empty(t, env.extra)
	assert.Empty(t, env.extraOrder)

	require.NoError(t, env.ReleaseDestinationClusters(context.Background()), "nothing left: nothing to do")
	assert.Len(t, deleted, 3, "none stopped twice")
}

var _ clusters.Cluster = recordingCluster{}
