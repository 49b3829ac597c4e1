package existing

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/clusters"
	"github.com/rehearse/rehearse/clusters/kwok"
)

// An existing cluster (here one the kwok backend started) is used through
// its kubeconfig and survives the scenario's Delete.
func TestExistingClusterIsUsedAndNeverDeleted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	ctx := context.Background()
	p, err := kwok.New(kwok.WithNodes(1))
	require.NoError(t, err)
	real, err := p.Create(ctx, "existing-test")
	require.NoError(t, err)
	defer real.Delete(ctx)

	_, err = (&Provider{Kubeconfig: real.KubeconfigPath(), Context: "no-such-context"}).Create(ctx, "x")
	assert.ErrorContains(t, err, `no context "no-such-context"`)

	c, err := (&Provider{Kubeconfig: real.KubeconfigPath(), Context: "existing-test"}).Create(ctx, "x")
	require.NoError(t, err)
	assert.NotEqual(t, real.KubeconfigPath(), c.KubeconfigPath(), "a flattened copy, not the user's file")
	require.NoError(t, c.Delete(ctx))
	require.NoError(t, clusters.WaitForDefaultServiceAccount(ctx, real.RESTConfig(), 5*time.Second), "the cluster still answers")
}
