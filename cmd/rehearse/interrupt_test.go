package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// descendants lists the pids whose parent chain leads to root.
func descendants(root int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 {
			parent[pid], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// TestInterruptLeavesNothingBehind starts a real run, interrupts it once the
// cluster and Argo CD are up and a scenario is in progress, and checks that
// every process it started has exited and its temporary directories are gone.
func TestInterruptLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and Argo CD")
	}
	bin := filepath.Join(t.TempDir(), "rehearse")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	tmp := t.TempDir()
	feature := filepath.Join(tmp, "wait.feature")
	require.NoError(t, os.WriteFile(feature, []byte(`Feature: interrupted
  Scenario: waits long enough to be interrupted
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the Git server hosts "root/q-sign" from the "q-sign" fixture
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"
    Then within 600s the application "never-created" is "Synced" and "Healthy"
`), 0o644))
	runTmp := filepath.Join(tmp, "tmp")
	require.NoError(t, os.Mkdir(runTmp, 0o755))
	cmd := exec.Command(bin, "run", "--reports", filepath.Join(tmp, "reports"), "--format", "progress", feature)
	cmd.Env = append(os.Environ(), "TMPDIR="+runTmp)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	ready := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Argo CD") && strings.Contains(sc.Text(), "ready in") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("the stack did not come up:\n%s", log.String())
	}
	time.Sleep(2 * time.Second) // the scenario is now waiting
	children := descendants(cmd.Process.Pid)
	require.GreaterOrEqual(t, len(children), 8, "cluster and engine processes are running")

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.Error(t, err, "an interrupted run does not exit 0")
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("rehearse did not exit within 90s of SIGINT")
	}
	for _, pid := range children {
		err := syscall.Kill(pid, 0)
		assert.ErrorIs(t, err, syscall.ESRCH, "process %d outlived the run", pid)
	}
	left, err := os.ReadDir(runTmp)
	require.NoError(t, err)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "temporary directories left behind")
}
