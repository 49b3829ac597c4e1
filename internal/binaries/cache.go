package binaries

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/rehearse/rehearse/internal/logging"
)

// Cache builds recipes into a directory tree keyed by name and version:
//
//	<Root>/bin/<name>-<version>/<binary>   finished binaries
//	<Root>/src/<name>-<version>/            wrapper module
//	<Root>/build.lock                       one heavy build at a time
type Cache struct {
	Root string
	Log  logging.Logger
	// Heartbeat is how often a running build reports that it is still going.
	Heartbeat time.Duration
}

// DefaultRoot is $REHEARSE_CACHE, else <user cache dir>/rehearse.
func DefaultRoot() (string, error) {
	if d := os.Getenv("REHEARSE_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("binaries: no cache directory (set REHEARSE_CACHE): %w", err)
	}
	return filepath.Join(d, "rehearse"), nil
}

// BinDir is where the recipe's binaries live once built.
func (c *Cache) BinDir(r Recipe) string { return filepath.Join(c.Root, "bin", r.Key()) }

// Path is the full path of one built binary.
func (c *Cache) Path(r Recipe, binary string) string { return filepath.Join(c.BinDir(r), binary) }

// Built reports whether every binary of the recipe is already in the cache.
func (c *Cache) Built(r Recipe) bool { return len(c.missing(r)) == 0 }

func (c *Cache) missing(r Recipe) []Command {
	var out []Command
	if len(r.Files) > 0 {
		// Files are copied after the binaries; a marker lists what was
		// copied, so a recipe that gains a file copies again.
		marker, err := os.ReadFile(filepath.Join(c.BinDir(r), ".files"))
		if err != nil || string(marker) != filesMarker(r) {
			out = append(out, Command{})
		}
	}
	for _, cmd := range r.Commands {
		if st, err := os.Stat(c.Path(r, cmd.Binary)); err != nil || st.Mode()&0o111 == 0 {
			out = append(out, cmd)
		}
	}
	return out
}

// Ensure builds whatever the recipe still lacks and returns its bin directory.
// It holds a machine-wide lock while building, so two runs started at once
// build each binary once and never two heavy builds in parallel.
func (c *Cache) Ensure(ctx context.Context, r Recipe) (string, error) {
	if err := r.validate(); err != nil {
		return "", err
	}
	if c.Built(r) {
		return c.BinDir(r), nil
	}
	if err := os.MkdirAll(c.Root, 0o755); err != nil {
		return "", err
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have finished it while we waited for the lock.
	todo := c.missing(r)
	if len(todo) == 0 {
		return c.BinDir(r), nil
	}
	src := filepath.Join(c.Root, "src", r.Key())
	switch {
	case r.Source != nil:
		if err := writeSource(r.Source, src); err != nil {
			return "", &BuildError{Recipe: r.Key(), Step: "write the source", Err: err}
		}
	case len(r.Commands) > 0:
		if err := c.prepareWrapper(ctx, r, src); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(c.BinDir(r), 0o755); err != nil {
		return "", err
	}
	for _, cmd := range todo {
		if cmd.Package == "" {
			continue
		}
		if err := c.build(ctx, r, src, cmd); err != nil {
			return "", err
		}
	}
	if len(r.Files) > 0 {
		start := time.Now()
		if err := c.copyFiles(ctx, r); err != nil {
			return "", err
		}
		c.recordBuildTime(r, "download and copy files", time.Since(start))
	}
	return c.BinDir(r), nil
}

func (c *Cache) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log.Printf(format, args...)
	}
}

func (c *Cache) lock(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(filepath.Join(c.Root, "build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
	}
	c.logf("waiting for another Rehearse build to finish (lock %s)", f.Name())
	for {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("binaries: waiting for build lock: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (c *Cache) goEnv(r Recipe) []string {
	env := os.Environ()
	if r.Toolchain != "" {
		env = append(env, "GOTOOLCHAIN="+r.Toolchain)
	}
	if r.CGO {
		env = append(env, "CGO_ENABLED=1")
	} else {
		env = append(env, "CGO_ENABLED=0")
	}
	return env
}

// goCmd runs the go command and returns its standard output; stderr (where
// go reports progress such as toolchain downloads) goes only into errors.
func (c *Cache) goCmd(ctx context.Context, r Recipe, dir, step string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = c.goEnv(r)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	stop := c.heartbeat(r.Key(), step)
	err := cmd.Run()
	stop()
	if err != nil {
		return stdout.Bytes(), &BuildError{Recipe: r.Key(), Step: step, Output: stderr.String() + stdout.String(), Err: err}
	}
	return stdout.Bytes(), nil
}

func (c *Cache) heartbeat(key, step string) func() {
	every := c.Heartbeat
	if every <= 0 {
		every = 30 * time.Second
	}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.logf("  %s: %s still running (%s)", key, step, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done) }
}

// prepareWrapper writes and tidies the wrapper module once; a ".ready" marker
// makes a half-written wrapper (interrupted tidy) be redone, not trusted.
func (c *Cache) prepareWrapper(ctx context.Context, r Recipe, src string) error {
	ready := filepath.Join(src, ".ready")
	if _, err := os.Stat(ready); err == nil {
		return nil
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	c.logf("preparing %s (first build only; %s)", r.Key(), r.Estimate)
	start := time.Now()
	tmp, err := os.MkdirTemp("", "rehearse-modfetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out, err := c.goCmd(ctx, r, tmp, "download "+r.Module, "mod", "download", "-json", r.Module+"@"+r.Version)
	if err != nil {
		return err
	}
	var info struct{ GoMod, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.GoMod == "" {
		return &BuildError{Recipe: r.Key(), Step: "download " + r.Module, Output: string(out), Err: fmt.Errorf("no go.mod in go mod download output: %v %s", err, info.Error)}
	}
	upstream, err := os.ReadFile(info.GoMod)
	if err != nil {
		return err
	}
	gomod, err := WrapperGoMod(r, upstream)
	if err != nil {
		return &BuildError{Recipe: r.Key(), Step: "write wrapper go.mod", Err: err}
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), gomod, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "tools.go"), toolsGo(r), 0o644); err != nil {
		return err
	}
	if _, err := c.goCmd(ctx, r, src, "go mod tidy", "mod", "tidy"); err != nil {
		return err
	}
	c.recordBuildTime(r, "download and tidy", time.Since(start))
	return os.WriteFile(ready, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

func (c *Cache) build(ctx context.Context, r Recipe, src string, cmd Command) error {
	from := "from the Go module proxy"
	if r.Source != nil {
		from = "from Rehearse's own source"
	}
	c.logf("building %s %s %s (cold: %s; cached afterwards)", cmd.Binary, r.Version, from, r.Estimate)
	start := time.Now()
	tmp := c.Path(r, "."+cmd.Binary+".tmp")
	args := []string{"build", "-trimpath", "-o", tmp}
	if r.LDFlags != "" {
		args = append(args, "-ldflags", r.LDFlags)
	}
	args = append(args, cmd.Package)
	if _, err := c.goCmd(ctx, r, src, "build "+cmd.Binary, args...); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, c.Path(r, cmd.Binary)); err != nil {
		return err
	}
	c.recordBuildTime(r, "go build "+cmd.Binary, time.Since(start))
	c.logf("built %s %s in %s", cmd.Binary, r.Version, time.Since(start).Round(time.Second))
	return nil
}

// WrapperGoMod derives the wrapper's go.mod from the upstream module's own:
// its version replaces are kept (they are what upstream tested), replaces to
// local staging directories become the published modules at StagingVersion,
// and other local-path replaces are dropped (the sibling modules are on the
// proxy at the versions upstream requires).
func WrapperGoMod(r Recipe, upstream []byte) ([]byte, error) {
	up, err := modfile.Parse(r.Module+"/go.mod", upstream, nil)
	if err != nil {
		return nil, err
	}
	f := new(modfile.File)
	if err := f.AddModuleStmt("rehearse.local/build/" + r.Name); err != nil {
		return nil, err
	}
	goVersion := "1.26.0"
	if up.Go != nil && up.Go.Version != "" {
		goVersion = up.Go.Version
	}
	if err := f.AddGoStmt(goVersion); err != nil {
		return nil, err
	}
	if err := f.AddRequire(r.Module, r.Version); err != nil {
		return nil, err
	}
	for mod, v := range r.Requires {
		if err := f.AddRequire(mod, v); err != nil {
			return nil, err
		}
	}
	for _, rep := range up.Replace {
		if modfile.IsDirectoryPath(rep.New.Path) {
			if r.StagingVersion != "" && strings.Contains(rep.New.Path, "staging/") {
				if err := f.AddReplace(rep.Old.Path, "", rep.Old.Path, r.StagingVersion); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := f.AddReplace(rep.Old.Path, rep.Old.Version, rep.New.Path, rep.New.Version); err != nil {
			return nil, err
		}
	}
	f.Cleanup()
	return f.Format()
}

func toolsGo(r Recipe) []byte {
	var b strings.Builder
	b.WriteString("//go:build tools\n\n// Package tools pins the commands this wrapper builds.\npackage tools\n\nimport (\n")
	for _, cmd := range r.Commands {
		fmt.Fprintf(&b, "\t_ %q\n", cmd.Package)
	}
	b.WriteString(")\n")
	return []byte(b.String())
}

// copyFiles copies Recipe.Files out of the module cache (read-only files)
// into the bin directory, then writes the ".files" marker. The module is
// located by downloading it at the recipe's version, which needs no wrapper.
func (c *Cache) copyFiles(ctx context.Context, r Recipe) error {
	tmp, err := os.MkdirTemp("", "rehearse-modfetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out, err := c.goCmd(ctx, r, tmp, "locate "+r.Module, "mod", "download", "-json", r.Module+"@"+r.Version)
	if err != nil {
		return err
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return &BuildError{Recipe: r.Key(), Step: "locate " + r.Module, Output: string(out), Err: fmt.Errorf("module directory unknown: %v", err)}
	}
	for _, rel := range r.Files {
		from := filepath.Join(mod.Dir, filepath.FromSlash(rel))
		err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			relPath, _ := filepath.Rel(mod.Dir, path)
			to := filepath.Join(c.BinDir(r), relPath)
			if d.IsDir() {
				return os.MkdirAll(to, 0o755)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if st, err := d.Info(); err == nil && st.Mode()&0o111 != 0 {
				mode = 0o755
			}
			return os.WriteFile(to, b, mode)
		})
		if err != nil {
			return &BuildError{Recipe: r.Key(), Step: "copy " + rel, Err: err}
		}
	}
	return os.WriteFile(filepath.Join(c.BinDir(r), ".files"), []byte(filesMarker(r)), 0o644)
}

func filesMarker(r Recipe) string { return strings.Join(r.Files, "\n") + "\n" }
