package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rehearse/rehearse/internal/loopback"
)

// Spec describes one process to start.
type Spec struct {
	Name string // short name used in errors and the log file name
	Path string
	Args []string
	Env  []string // appended to a minimal environment, see Start
	// Isolated processes get only Env, not Rehearse's own environment
	// (containers of the pod runtime).
	Isolated bool
	Dir      string
	// LogDir receives <Name>.log with stdout and stderr.
	LogDir string
	// Namespace, if set, starts the process inside it (a network
	// namespace: see internal/netns).
	Namespace Namespace
}

// Namespace runs f where a process started by f should live.
type Namespace interface {
	Do(f func() error) error
}

// Process is a started Spec.
type Process struct {
	Spec    Spec
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	mu      sync.Mutex
	waitErr error
}

// ExitError says a supervised process ended, with the tail of its log.
type ExitError struct {
	Name    string
	Err     error
	LogTail string
	LogPath string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s exited: %v (log %s)\n%s", e.Name, e.Err, e.LogPath, e.LogTail)
}

func (e *ExitError) Unwrap() error { return e.Err }

// Start launches the process. It inherits the parent's environment plus
// Spec.Env (later entries win), runs in a new process group so Stop can take
// its children too, and gets SIGKILL if Rehearse itself dies.
func Start(spec Spec) (*Process, error) {
	if spec.LogDir == "" {
		return nil, fmt.Errorf("proc: %s: no log directory", spec.Name)
	}
	logPath := filepath.Join(spec.LogDir, spec.Name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = append(os.Environ(), spec.Env...)
	if spec.Isolated {
		cmd.Env = append([]string(nil), spec.Env...)
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	start := cmd.Start
	if spec.Namespace != nil {
		start = func() error { return spec.Namespace.Do(cmd.Start) }
	}
	if err := start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("proc: start %s (%s): %w", spec.Name, spec.Path, err)
	}
	p := &Process{Spec: spec, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Pid of the process.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// LogPath is the file holding its output.
func (p *Process) LogPath() string { return p.logPath }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited returns an *ExitError if the process is no longer running.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		err := p.waitErr
		if err == nil {
			err = errors.New("exit status 0")
		}
		return &ExitError{Name: p.Spec.Name, Err: err, LogTail: p.LogTail(20), LogPath: p.logPath}
	default:
		return nil
	}
}

// ExitCode is the code the process exited with, once it has: as a shell
// reports it, 128 plus the signal's number for a process a signal ended.
// ok is false while it runs.
func (p *Process) ExitCode() (code int, ok bool) {
	select {
	case <-p.done:
	default:
		return 0, false
	}
	st := p.cmd.ProcessState
	if st == nil {
		return 1, true // never started properly
	}
	if ws, isWait := st.Sys().(syscall.WaitStatus); isWait && ws.Signaled() {
		return 128 + int(ws.Signal()), true
	}
	return st.ExitCode(), true
}

// LogTail returns the last n lines of the process's log.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(string(bytes.TrimRight(b, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Kill sends SIGKILL to the process group and waits for the process to end:
// a crash, not a shutdown.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Group stops a set of processes in reverse start order.
type Group struct {
	mu    sync.Mutex
	procs []*Process
}

// Add records a started process.
func (g *Group) Add(p *Process) {
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
}

// Start starts spec and adds it to the group.
func (g *Group) Start(spec Spec) (*Process, error) {
	p, err := Start(spec)
	if err != nil {
		return nil, err
	}
	g.Add(p)
	return p, nil
}

// Restart kills the named member (SIGKILL, like a crash) and starts it
// again with the same spec; the group then holds the new process.
func (g *Group) Restart(name string) (*Process, error) {
	old := g.Find(name)
	if old == nil {
		return nil, fmt.Errorf("proc: no process %s to restart", name)
	}
	old.Kill()
	p, err := Start(old.Spec)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, q := range g.procs {
		if q == old {
			g.procs[i] = p
		}
	}
	return p, nil
}

// Find returns the member named name, or nil.
func (g *Group) Find(name string) *Process {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range g.procs {
		if p.Spec.Name == name {
			return p
		}
	}
	return nil
}

// Exited returns the first member that has died, if any.
func (g *Group) Exited() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range g.procs {
		if err := p.Exited(); err != nil {
			return err
		}
	}
	return nil
}

// StopAll stops every member, newest first.
func (g *Group) StopAll(grace time.Duration) {
	g.mu.Lock()
	procs := g.procs
	g.procs = nil
	g.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop(grace)
	}
}

// WaitFor polls check until it returns nil, the group loses a member, or the
// context ends. what names the condition in the error.
func (g *Group) WaitFor(ctx context.Context, what string, every time.Duration, check func(context.Context) error) error {
	var last error
	for {
		if err := g.Exited(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting for %s: %w (last: %v)", what, ctx.Err(), last)
		case <-time.After(every):
		}
	}
}

// RSS is the process's resident set size in bytes (0 once it has exited).
func (p *Process) RSS() uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:")), "%d", &kb)
			return kb * 1024
		}
	}
	return 0
}

// RSS sums the members' resident set sizes, by member name.
func (g *Group) RSS() map[string]uint64 {
	g.mu.Lock()
	procs := append([]*Process(nil), g.procs...)
	g.mu.Unlock()
	out := map[string]uint64{}
	for _, p := range procs {
		out[p.Spec.Name] += p.RSS()
	}
	return out
}

// HTTPOK is a readiness check: GET url answers 200. The client refuses
// non-loopback addresses.
func HTTPOK(url string) func(context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: (&loopback.Dialer{}).DialContext}}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	}
}

// TCPOpen is a readiness check: addr accepts a connection.
func TCPOpen(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := (&loopback.Dialer{Dialer: net.Dialer{Timeout: time.Second}}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}
