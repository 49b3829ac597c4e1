package steps

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCloseWhileStartingLeavesNothing closes an environment while its
// cluster is half up (its directory exists, the API server is not ready):
// Close must stop the start and leave no directory, and Start must not begin
// again afterwards.
func TestCloseWhileStartingLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	env, err := NewEnvironment(EnvOptions{TimeScale: 60})
	require.NoError(t, err)
	started := make(chan error, 1)
	go func() { started <- env.Start(context.Background()) }()
	deadline := time.Now().Add(5 * time.Minute)
	for !clusterDirIn(t, tmp) {
		require.True(t, time.Now().Before(deadline), "no cluster directory appeared in %s", tmp)
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, env.Close(context.Background()))
	select {
	case err := <-started:
		require.Error(t, err, "the start was cut short")
	default:
		t.Fatal("Close returned while the start was still running")
	}
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, left, "Close left directories behind")
	require.Error(t, env.Start(context.Background()), "a closed environment does not start again")
}

// TestStartAfterCloseIsRefused: a start asked for after the run ended (a
// late background start) must not bring a stack up that nobody closes.
func TestStartAfterCloseIsRefused(t *testing.T) {
	env, err := NewEnvironment(EnvOptions{TimeScale: 60})
	require.NoError(t, err)
	require.NoError(t, env.Close(context.Background()))
	require.ErrorIs(t, env.Start(context.Background()), errClosed)
}

func clusterDirIn(t *testing.T, dir string) bool {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "rehearse-kwok-") {
			return true
		}
	}
	return false
}
