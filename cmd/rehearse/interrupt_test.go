package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/internal/proc"
)

// runOwnedBy lists the processes whose environment carries marker (a
// TMPDIR only this run uses): every process the run started inherits it,
// even one that outlived the run and was handed to init.
func runOwnedBy(marker string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == marker {
				cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
				out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
				break
			}
		}
	}
	return out
}

// buildRehearse builds the command once per test.
func buildRehearse(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rehearse")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// startedRun is a rehearse run in its own TMPDIR, its stderr collected.
type startedRun struct {
	cmd    *exec.Cmd
	tmp    string // the run's TMPDIR
	mu     sync.Mutex
	log    strings.Builder
	stdout syncBuffer
	lines  chan string
	waited chan error
}

func startRun(t *testing.T, bin, featureText string) *startedRun {
	t.Helper()
	dir := t.TempDir()
	feature := filepath.Join(dir, "run.feature")
	require.NoError(t, os.WriteFile(feature, []byte(featureText), 0o644))
	r := &startedRun{tmp: filepath.Join(dir, "tmp"), lines: make(chan string, 1000), waited: make(chan error, 1)}
	require.NoError(t, os.Mkdir(r.tmp, 0o755))
	r.cmd = exec.Command(bin, "run", "--parallel", "1", "--reports", filepath.Join(dir, "reports"), "--format", "progress", feature)
	r.cmd.Env = append(os.Environ(), "TMPDIR="+r.tmp)
	r.cmd.Stdout = &r.stdout
	stderr, err := r.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, r.cmd.Start())
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.mu.Lock()
			r.log.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			select {
			case r.lines <- sc.Text():
			default:
			}
		}
		close(r.lines)
		r.waited <- r.cmd.Wait()
	}()
	return r
}

func (r *startedRun) stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

// syncBuffer is the run's stdout (godog's output), written by exec's copier.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitForLine waits for a stderr line containing every one of words.
func (r *startedRun) waitForLine(t *testing.T, timeout time.Duration, words ...string) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("the run ended before a line with %q:\n%s", words, r.stderr())
			}
			all := true
			for _, w := range words {
				all = all && strings.Contains(l, w)
			}
			if all {
				return
			}
		case <-deadline:
			_ = r.cmd.Process.Kill()
			t.Fatalf("no line with %q within %s:\n%s", words, timeout, r.stderr())
		}
	}
}

// exit waits for the run to end and returns its error.
func (r *startedRun) exit(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-r.waited:
		return err
	case <-time.After(timeout):
		_ = r.cmd.Process.Kill()
		t.Fatalf("rehearse did not exit within %s:\n%s", timeout, r.stderr())
		return nil
	}
}

// assertNothingLeft checks that no process of the run is alive and its
// TMPDIR is empty (the clusters', Argo CD's and builds' directories, with
// their keys and etcd data, live there). A process gone holds no port.
func (r *startedRun) assertNothingLeft(t *testing.T) {
	t.Helper()
	// Processes told to stop may take a moment to be reaped by init.
	var alive []string
	for i := 0; i < 50; i++ {
		if alive = runOwnedBy("TMPDIR=" + r.tmp); len(alive) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Empty(t, alive, "processes of the run still alive\n%s", r.stderr())
	left, err := os.ReadDir(r.tmp)
	require.NoError(t, err)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "temporary directories left behind\n%s", r.stderr())
}

// waitingFeature hosts the q-sign chart (an absolute path: the feature
// file is written elsewhere) and waits for an application never created.
func waitingFeature(t *testing.T) string {
	chart, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "repos", "q-sign"))
	require.NoError(t, err)
	return `Feature: interrupted
  Scenario: waits long enough to be interrupted
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the Git server hosts "root/q-sign" from the folder "` + chart + `"
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"
    Then within 600s the application "never-created" is "Synced" and "Healthy"
`
}

// TestInterruptLeavesNothingBehind starts a real run, interrupts it once the
// cluster and Argo CD are up and a scenario is in progress, and checks that
// every process it started has exited and its temporary directories are gone.
func TestInterruptLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and Argo CD")
	}
	r := startRun(t, buildRehearse(t), waitingFeature(t))
	r.waitForLine(t, 5*time.Minute, "Argo CD", "ready in")
	time.Sleep(2 * time.Second) // the scenario is now waiting
	children := proc.Descendants(r.cmd.Process.Pid)
	require.GreaterOrEqual(t, len(children), 8, "cluster and engine processes are running")
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGINT))
	assert.Error(t, r.exit(t, 90*time.Second), "an interrupted run does not exit 0")
	for _, pid := range children {
		err := syscall.Kill(pid, 0)
		assert.ErrorIs(t, err, syscall.ESRCH, "process %d outlived the run", pid)
	}
	r.assertNothingLeft(t)
}

// TestInterruptDuringStartUpLeavesNothingBehind sends Ctrl-C while the
// cluster is still starting: its first processes run, nothing is ready.
func TestInterruptDuringStartUpLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	r := startRun(t, buildRehearse(t), waitingFeature(t))
	deadline := time.Now().Add(5 * time.Minute)
	for !slices.ContainsFunc(runOwnedBy("TMPDIR="+r.tmp), func(p string) bool { return strings.Contains(p, "etcd") }) {
		require.True(t, time.Now().Before(deadline), "the cluster did not start:\n%s", r.stderr())
		time.Sleep(20 * time.Millisecond)
	}
	require.NotContains(t, r.stderr(), "ready in", "the signal must come during start-up")
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGINT))
	assert.Error(t, r.exit(t, 90*time.Second), "an interrupted run does not exit 0")
	r.assertNothingLeft(t)
}

// TestRunFailingBeforeTheStackIsUpLeavesNothingBehind: the scenario fails at
// its first step, while the stack starts in the background; the run must
// stop that start and remove what it made (the cluster's keys, kubeconfig
// and etcd data were left in TMPDIR before).
func TestRunFailingBeforeTheStackIsUpLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	r := startRun(t, buildRehearse(t), `Feature: fails at once
  Background:
    Given the Git server hosts "root/q-sign" from the folder "no-such-folder"

  Scenario: never gets further
    Then within 60s the application "never-created" is "Synced" and "Healthy"
`)
	err := r.exit(t, 2*time.Minute)
	assert.Error(t, err, "a failed scenario fails the run")
	assert.Contains(t, r.stdout.String(), "no-such-folder", "the scenario failed at its first step")
	assert.Contains(t, r.stdout.String(), "0 passed, 1 failed")
	r.assertNothingLeft(t)
}
