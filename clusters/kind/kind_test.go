package kind

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/clusters"
)

func TestKindClusterLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a kind cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := New("")
	if err := p.Available(ctx); err != nil {
		t.Skip(err.Error())
	}
	c, err := p.Create(ctx, "rehearse-kind-test")
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Delete(ctx)) }()
	require.NoError(t, clusters.WaitForDefaultServiceAccount(ctx, c.RESTConfig(), time.Minute))
}
