package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// utilities are the commands the shell provides itself, so that scripts of
// images Rehearse stands in (busybox, alpine, curl images) still run. A
// command that is neither one of these nor a program in the image fails
// with status 127 and its name, as sh says "not found".
var utilities = map[string]func(ctx context.Context, hc interp.HandlerContext, args []string) error{
	"sleep":    utilSleep,
	"date":     utilDate,
	"cat":      utilCat,
	"env":      utilEnv,
	"printenv": utilPrintenv,
	"hostname": func(_ context.Context, hc interp.HandlerContext, _ []string) error {
		_, err := fmt.Fprintln(hc.Stdout, hc.Env.Get("HOSTNAME").String())
		return err
	},
	"seq":   utilSeq,
	"mkdir": utilMkdir,
	"touch": utilTouch,
	"rm":    utilRm,
	"curl":  utilCurl,
	"wget":  utilWget,
}

func utilityNames() string {
	names := make([]string, 0, len(utilities))
	for n := range utilities {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// runShell runs sh's arguments: "-c SCRIPT [NAME [ARG...]]" or
// "FILE [ARG...]", and returns the exit status.
func runShell(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var src io.Reader
	name := "sh"
	var params []string
	switch {
	case len(args) >= 2 && args[0] == "-c":
		src = strings.NewReader(args[1])
		if len(args) > 2 {
			name, params = args[2], args[3:]
		}
	case len(args) >= 1 && !strings.HasPrefix(args[0], "-"):
		f, err := os.Open(args[0])
		if err != nil {
			fmt.Fprintf(stderr, "sh: %v\n", err)
			return 127
		}
		defer f.Close()
		src, name, params = f, args[0], args[1:]
	default:
		fmt.Fprintf(stderr, "sh: Rehearse's shell runs \"-c SCRIPT\" or a script file, not %q\n", strings.Join(args, " "))
		return 2
	}
	file, err := syntax.NewParser().Parse(src, name)
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	dir, _ := os.Getwd()
	runner, err := interp.New(
		interp.StdIO(stdin, stdout, stderr),
		interp.Env(expand.ListEnviron(os.Environ()...)),
		interp.Dir(dir),
		interp.Params(append([]string{"--"}, params...)...),
		interp.ExecHandlers(imageOrUtility),
		// cd checks its directory on the machine's filesystem itself: give
		// it the host path of the container's directory.
		interp.CallHandler(func(ctx context.Context, args []string) ([]string, error) {
			if len(args) > 1 && args[0] == "cd" && args[1] != "-" {
				args[1] = resolve(interp.HandlerCtx(ctx), args[1])
			}
			return args, nil
		}),
		// Redirections, test -f and globs see the container's files, as
		// the utilities do: one filesystem, the image's.
		interp.OpenHandler(func(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
			return interp.DefaultOpenHandler()(ctx, resolve(interp.HandlerCtx(ctx), path), flag, perm)
		}),
		interp.StatHandler(func(ctx context.Context, name string, followSymlinks bool) (fs.FileInfo, error) {
			return interp.DefaultStatHandler()(ctx, resolve(interp.HandlerCtx(ctx), name), followSymlinks)
		}),
		interp.ReadDirHandler2(func(ctx context.Context, path string) ([]fs.DirEntry, error) {
			return interp.DefaultReadDirHandler2()(ctx, resolve(interp.HandlerCtx(ctx), path))
		}),
	)
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 2
	}
	err = runner.Run(ctx, file)
	if ctx.Err() != nil {
		return 143 // 128 + SIGTERM, as a shell killed by the kubelet reports
	}
	if status, ok := errors.AsType[interp.ExitStatus](err); ok {
		return int(status)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 1
	}
	return 0
}

// imageOrUtility runs a command from the image (its PATH, under
// REHEARSE_IMAGE_ROOT, never the host's), else one of the shell's own
// utilities, else fails with 127.
func imageOrUtility(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		hc := interp.HandlerCtx(ctx)
		if path, ok := inImage(hc, args[0]); ok {
			// A shell script's #! names a shell: this one, not the
			// machine's, which would see the machine's files.
			if isShellScript(path) {
				self, err := os.Executable()
				if err != nil {
					return err
				}
				return next(ctx, append([]string{self, "sh", path}, args[1:]...))
			}
			return next(ctx, append([]string{path}, args[1:]...))
		}
		if u, ok := utilities[args[0]]; ok {
			if err := u(ctx, hc, args[1:]); err != nil {
				if _, isStatus := errors.AsType[interp.ExitStatus](err); isStatus {
					return err
				}
				fmt.Fprintf(hc.Stderr, "%s: %v\n", args[0], err)
				return interp.ExitStatus(1)
			}
			return nil
		}
		fmt.Fprintf(hc.Stderr, "sh: %d: %s: not found (not in the image, and not one of the commands Rehearse's shell provides: %s)\n",
			hc.Pos.Line(), args[0], utilityNames())
		return interp.ExitStatus(127)
	}
}

// inImage finds a program the way sh would, but inside the image's root.
func inImage(hc interp.HandlerContext, cmd string) (string, bool) {
	root := hc.Env.Get("REHEARSE_IMAGE_ROOT").String()
	if root == "" {
		return "", false
	}
	executable := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
	}
	if strings.Contains(cmd, "/") {
		p := resolve(hc, cmd)
		return p, executable(p)
	}
	path := hc.Env.Get("PATH").String()
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range filepath.SplitList(path) {
		if p := filepath.Join(root, dir, cmd); executable(p) {
			return p, true
		}
	}
	return "", false
}

func utilSleep(ctx context.Context, hc interp.HandlerContext, args []string) error {
	var total time.Duration
	for _, a := range args {
		d, err := time.ParseDuration(a)
		if err != nil {
			// sleep's own units: a bare number is seconds; s, m, h, d suffixes.
			unit := time.Second
			switch {
			case strings.HasSuffix(a, "d"):
				unit, a = 24*time.Hour, strings.TrimSuffix(a, "d")
			}
			f, ferr := strconv.ParseFloat(a, 64)
			if ferr != nil || f < 0 {
				return fmt.Errorf("invalid time interval %q", a)
			}
			d = time.Duration(f * float64(unit))
		}
		total += d
	}
	if len(args) == 0 {
		return errors.New("missing operand")
	}
	t := time.NewTimer(total)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return interp.ExitStatus(143)
	}
}

func utilDate(_ context.Context, hc interp.HandlerContext, args []string) error {
	now := time.Now()
	if len(args) > 0 && args[0] == "-u" {
		now, args = now.UTC(), args[1:]
	}
	if len(args) > 0 && args[0] == "+%s" {
		_, err := fmt.Fprintln(hc.Stdout, now.Unix())
		return err
	}
	_, err := fmt.Fprintln(hc.Stdout, now.Format("Mon Jan _2 15:04:05 MST 2006"))
	return err
}

func utilCat(_ context.Context, hc interp.HandlerContext, args []string) error {
	if len(args) == 0 {
		_, err := io.Copy(hc.Stdout, hc.Stdin)
		return err
	}
	for _, a := range args {
		f, err := os.Open(resolve(hc, a))
		if err != nil {
			return err
		}
		_, err = io.Copy(hc.Stdout, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func utilEnv(ctx context.Context, hc interp.HandlerContext, args []string) error {
	if len(args) > 0 {
		return errors.New("running a command through env is not supported; call it directly")
	}
	return utilPrintenv(ctx, hc, nil)
}

func utilPrintenv(_ context.Context, hc interp.HandlerContext, args []string) error {
	if len(args) > 0 {
		v := hc.Env.Get(args[0])
		if !v.IsSet() {
			return interp.ExitStatus(1)
		}
		_, err := fmt.Fprintln(hc.Stdout, v.String())
		return err
	}
	var lines []string
	for name, v := range hc.Env.Each {
		if v.Exported {
			lines = append(lines, name+"="+v.String())
		}
	}
	sort.Strings(lines)
	_, err := fmt.Fprintln(hc.Stdout, strings.Join(lines, "\n"))
	return err
}

func utilSeq(_ context.Context, hc interp.HandlerContext, args []string) error {
	nums := make([]int, 0, 3)
	for _, a := range args {
		n, err := strconv.Atoi(a)
		if err != nil {
			return fmt.Errorf("invalid number %q", a)
		}
		nums = append(nums, n)
	}
	first, step, last := 1, 1, 0
	switch len(nums) {
	case 1:
		last = nums[0]
	case 2:
		first, last = nums[0], nums[1]
	case 3:
		first, step, last = nums[0], nums[1], nums[2]
	default:
		return errors.New("usage: seq [FIRST [STEP]] LAST")
	}
	if step == 0 {
		return errors.New("step must not be 0")
	}
	for i := first; (step > 0 && i <= last) || (step < 0 && i >= last); i += step {
		if _, err := fmt.Fprintln(hc.Stdout, i); err != nil {
			return err
		}
	}
	return nil
}

func utilMkdir(_ context.Context, hc interp.HandlerContext, args []string) error {
	parents := false
	for _, a := range args {
		if a == "-p" {
			parents = true
			continue
		}
		var err error
		if parents {
			err = os.MkdirAll(resolve(hc, a), 0o755)
		} else {
			err = os.Mkdir(resolve(hc, a), 0o755)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func utilTouch(_ context.Context, hc interp.HandlerContext, args []string) error {
	for _, a := range args {
		f, err := os.OpenFile(resolve(hc, a), os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
		now := time.Now()
		if err := os.Chtimes(resolve(hc, a), now, now); err != nil {
			return err
		}
	}
	return nil
}

func utilRm(_ context.Context, hc interp.HandlerContext, args []string) error {
	recursive, force := false, false
	for _, a := range args {
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			recursive = recursive || strings.ContainsAny(a, "rR")
			force = force || strings.Contains(a, "f")
			continue
		}
		p := resolve(hc, a)
		var err error
		if recursive {
			err = os.RemoveAll(p)
		} else {
			err = os.Remove(p)
		}
		if err != nil && !(force && os.IsNotExist(err)) {
			return err
		}
	}
	return nil
}

// resolve maps a path of the script to the host: relative to the shell's
// directory, absolute ones inside the image's root when there is one, so
// that a script never writes over the host's files.
func resolve(hc interp.HandlerContext, p string) string {
	if p == "" {
		return p
	}
	if !filepath.IsAbs(p) {
		// After a cd the shell's directory is a container path.
		p = filepath.Join(hc.Dir, p)
	}
	// Devices and the process table are the machine's, as a container's
	// are the node's: /dev/null, /dev/stdout, /proc/self.
	if p == "/dev" || strings.HasPrefix(p, "/dev/") || p == "/proc" || strings.HasPrefix(p, "/proc/") {
		return p
	}
	mounts := mountsOf(hc)
	for _, host := range mounts {
		if p == host || strings.HasPrefix(p, host+string(filepath.Separator)) {
			return p // already the host path of a volume ($0 of a mounted script)
		}
	}
	if host, ok := mounted(mounts, p); ok {
		return host
	}
	if root := hc.Env.Get("REHEARSE_IMAGE_ROOT").String(); root != "" && !strings.HasPrefix(p, root+string(filepath.Separator)) && p != root {
		return filepath.Join(root, p)
	}
	return p
}

// isShellScript says whether the file starts with a #! line naming a
// shell (sh, bash, ash, dash; directly or through env).
func isShellScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 128)
	n, _ := f.Read(head)
	line, _, _ := strings.Cut(string(head[:n]), "\n")
	rest, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return false
	}
	fields := strings.Fields(rest)
	if len(fields) > 1 && filepath.Base(fields[0]) == "env" {
		fields = fields[1:]
	}
	if len(fields) == 0 {
		return false
	}
	switch filepath.Base(fields[0]) {
	case "sh", "bash", "ash", "dash":
		return true
	}
	return false
}

// mountsOf reads the container's volume mounts (mount path -> host path)
// the pod runtime gives in REHEARSE_MOUNTS.
func mountsOf(hc interp.HandlerContext) map[string]string {
	raw := hc.Env.Get("REHEARSE_MOUNTS").String()
	if raw == "" {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil
	}
	return m
}

// mounted maps a container path under a mount to the host path behind the
// longest mount holding it.
func mounted(mounts map[string]string, p string) (string, bool) {
	best := ""
	for m := range mounts {
		if (p == m || strings.HasPrefix(p, m+"/") || m == "/") && len(m) > len(best) {
			best = m
		}
	}
	if best == "" {
		return "", false
	}
	return filepath.Join(mounts[best], strings.TrimPrefix(p, best)), true
}
