package lane

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/internal/netns"
	"github.com/rehearse/rehearse/internal/proc"
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
	before := ownListeners(t)
	env, err := New(Options{TimeScale: 60})
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
	// The registry, proxy and Redis run inside this process: their ports
	// must be closed too.
	require.ElementsMatch(t, before, ownListeners(t), "Close left ports open")
	require.Error(t, env.Start(context.Background()), "a closed environment does not start again")
}

// TestStartAfterCloseIsRefused: a start asked for after the run ended (a
// late background start) must not bring a stack up that nobody closes.
func TestStartAfterCloseIsRefused(t *testing.T) {
	env, err := New(Options{TimeScale: 60})
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

// TestEveryListenerOfALaneIsOnLoopback starts a lane (registry, proxy,
// cluster, Argo CD, Argo Rollouts) and reads every listening socket of the
// test process and of each process it started from /proc: each must be on
// 127.0.0.0/8 or ::1, or in a network namespace that has nothing but lo.
func TestEveryListenerOfALaneIsOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and Argo CD")
	}
	env, err := New(Options{TimeScale: 60})
	require.NoError(t, err)
	defer func() { require.NoError(t, env.Close(context.Background())) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	require.NoError(t, env.Start(ctx))
	require.NoError(t, env.Engine().StartRollouts(ctx))
	if !env.Engine().Isolated() {
		t.Skip("this machine does not allow a network namespace (not root): Argo CD's controllers listen on every address")
	}
	pids := append([]int{os.Getpid()}, proc.Descendants(os.Getpid())...)
	require.GreaterOrEqual(t, len(pids), 9, "cluster, Argo CD and Argo Rollouts processes")
	seen := 0
	for _, pid := range pids {
		ls, err := netns.Listeners(pid)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a short-lived process (git, kubectl) ended meanwhile
		}
		require.NoError(t, err)
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		name := strings.ReplaceAll(string(cmdline), "\x00", " ")
		for _, l := range ls {
			seen++
			assert.True(t, l.Addr.Addr().IsLoopback() || l.Isolated, "process %d (%.80s) listens on %s, reachable from outside the machine", pid, name, l.Addr)
		}
	}
	assert.GreaterOrEqual(t, seen, 15, "listeners found: the check looked at the lane")
}

// ownListeners are this process's listening sockets.
func ownListeners(t *testing.T) []string {
	ls, err := netns.Listeners(os.Getpid())
	require.NoError(t, err)
	var out []string
	for _, l := range ls {
		out = append(out, l.Addr.String())
	}
	return out
}
