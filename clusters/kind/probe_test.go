package kind

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEngineProbe runs the probe against this machine's container engine and
// shows what it found. It fails when the probe cannot run where an engine
// answers, or when its verdict contradicts its own checks; a refusal by the
// engine is the probe's finding, logged in full, not a test failure.
func TestEngineProbe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers")
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no container engine: %s", reason(string(out), err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := Probe(ctx)
	require.NoError(t, err)
	require.Len(t, r.Checks, 6)
	for _, c := range r.Checks {
		t.Logf("%-32s ok=%-5v docker run %s\n    %s", c.Name, c.OK, strings.Join(c.Args, " "), strings.ReplaceAll(c.Output, "\n", "\n    "))
	}
	// A container that ran printed its bounding set: the probe program
	// really started, the engine did not just accept the request.
	for _, c := range r.Checks {
		if c.OK {
			require.Contains(t, c.Output, "CapBnd:", c.Name)
		}
	}
	if len(r.Refused()) == 0 {
		require.NoError(t, r.Err())
	} else {
		require.Error(t, r.Err())
		for _, c := range r.Refused() {
			require.Contains(t, r.Err().Error(), c.Name)
		}
		t.Logf("verdict: %v", r.Err())
	}
	out, err := exec.Command("docker", "images", "--quiet", "rehearse.local/kind-probe").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Empty(t, strings.TrimSpace(string(out)), "the probe image is removed afterwards")
}
