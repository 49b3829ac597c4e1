package podruntime

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rehearse/rehearse/internal/proc"
)

const maxBackoff = 5 * time.Minute

// worker plays one pod's lifecycle.
type worker struct {
	r      *Runtime
	pod    *corev1.Pod // as first seen; the spec of a pod does not change
	ctx    context.Context
	cancel context.CancelFunc
	kick   chan struct{}

	termOnce sync.Once
	term     chan struct{}
	grace    time.Duration

	// volumes are the pod's volumes set up so far (setUpVolume): name ->
	// mounted (false for a kind Rehearse does not mount).
	volumesMu sync.Mutex
	volumes   map[string]bool

	mu         sync.Mutex
	podIP      string
	local      string
	containers []*container
	// inits are the init containers, run one after another before the
	// containers; initialized is set once all of them completed.
	inits       []*container
	initialized bool
	startTime   metav1.Time
	readySince  metav1.Time
	wasReady    bool
}

// container is one container's state, guarded by worker.mu.
type container struct {
	spec      corev1.Container
	status    corev1.ContainerStatus
	proc      *proc.Process
	img       *image
	env       []string          // the running process's environment, for exec probes
	mounts    map[string]string // its volume mounts: mount path -> host path
	successes int
	failures  int
}

func newWorker(r *Runtime, pod *corev1.Pod) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{r: r, pod: pod.DeepCopy(), ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1),
		term: make(chan struct{}), startTime: metav1.Now()}
	waiting := "ContainerCreating"
	if len(pod.Spec.InitContainers) > 0 {
		waiting = "PodInitializing"
	}
	for _, c := range pod.Spec.InitContainers {
		w.inits = append(w.inits, &container{spec: c, status: corev1.ContainerStatus{
			Name: c.Name, Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}},
		}})
	}
	for _, c := range pod.Spec.Containers {
		w.containers = append(w.containers, &container{spec: c, status: corev1.ContainerStatus{
			Name: c.Name, Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting}},
		}})
	}
	w.initialized = len(w.inits) == 0
	return w
}

func (w *worker) key() string { return w.pod.Namespace + "/" + w.pod.Name }

// terminate starts a graceful shutdown (the pod is being deleted).
func (w *worker) terminate(graceSeconds *int64) {
	w.termOnce.Do(func() {
		w.grace = 30 * time.Second
		if graceSeconds != nil {
			w.grace = time.Duration(*graceSeconds) * time.Second
		}
		close(w.term)
	})
}

func (w *worker) running() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.all() {
		if c.proc != nil {
			n++
		}
	}
	return n
}

func (w *worker) rss() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var t uint64
	for _, c := range w.all() {
		if c.proc != nil {
			t += c.proc.RSS()
		}
	}
	return t
}

// all is the init containers and the containers.
func (w *worker) all() []*container {
	return append(append([]*container{}, w.inits...), w.containers...)
}

func (w *worker) changed() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *worker) run(parent context.Context) {
	defer w.cancel()
	go func() {
		select {
		case <-parent.Done():
			w.cancel()
		case <-w.ctx.Done():
		}
	}()
	var err error
	w.podIP, w.local, err = w.r.pool.take()
	if err != nil {
		w.r.event(w.pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", err.Error())
		return
	}
	defer w.r.pool.release(w.podIP)

	publisherDone := make(chan struct{})
	go func() { defer close(publisherDone); w.publishLoop() }()
	w.changed()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Init containers run one at a time, each to completion, before
		// any container starts; a failed one stops the pod here (it was
		// retried by runContainer unless restartPolicy is Never).
		for _, c := range w.inits {
			if !w.runContainer(c, true) {
				return
			}
		}
		w.mu.Lock()
		for _, c := range w.containers {
			if c.status.State.Waiting != nil && c.status.State.Waiting.Reason == "PodInitializing" {
				c.status.State.Waiting.Reason = "ContainerCreating"
			}
		}
		w.initialized = true
		w.mu.Unlock()
		w.changed()
		for _, c := range w.containers {
			wg.Add(1)
			go func() { defer wg.Done(); w.runContainer(c, false) }()
		}
	}()
	select {
	case <-w.term:
	case <-w.ctx.Done():
	}
	w.stopContainers()
	wg.Wait()
	deleting := false
	select {
	case <-w.term:
		deleting = true
	default:
	}
	if deleting && w.ctx.Err() == nil {
		w.publishNow()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		zero := int64(0)
		uid := w.pod.UID
		err := w.r.cs.CoreV1().Pods(w.pod.Namespace).Delete(ctx, w.pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			w.r.logf("podruntime: removing %s: %v", w.key(), err)
		}
	}
	w.cancel()
	<-publisherDone
}

// stopContainers gives every process the pod's grace period after SIGTERM.
func (w *worker) stopContainers() {
	grace := w.grace
	if grace <= 0 || grace > 30*time.Second {
		grace = 30 * time.Second
	}
	w.mu.Lock()
	var procs []*proc.Process
	for _, c := range w.all() {
		if c.proc != nil {
			procs = append(procs, c.proc)
		}
	}
	w.mu.Unlock()
	if len(procs) > 0 {
		w.r.event(w.pod, corev1.EventTypeNormal, "Killing", "Stopping container(s)")
	}
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop(grace) }()
	}
	wg.Wait()
}

func (w *worker) stopping() bool {
	select {
	case <-w.term:
		return true
	case <-w.ctx.Done():
		return true
	default:
		return false
	}
}

// sleep waits d unless the pod stops first; it reports whether to go on.
func (w *worker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.term:
		return false
	case <-w.ctx.Done():
		return false
	}
}

func (w *worker) setWaiting(c *container, reason, msg string) {
	w.mu.Lock()
	c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
	c.status.Ready, c.status.Started = false, ptr(false)
	w.mu.Unlock()
	w.changed()
}

func ptr[T any](v T) *T { return &v }

// podStandIn is why a container runs the stand-in: the pattern that
// declared its image, and for an image no registry served, the pull's
// error.
type podStandIn struct {
	pattern   string
	behaviour StandInBehaviour
	why       string
}

// standIn gives a container the stand-in instead of its image, and says
// so in the pod's events: the image is not pulled.
func (w *worker) standIn(c *container, s podStandIn) (*image, error) {
	root := filepath.Join(w.r.opts.Dir, "stand-ins", string(w.pod.UID), c.spec.Name)
	// An empty filesystem but for /tmp, which scripts expect.
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o1777); err != nil {
		w.r.event(w.pod, corev1.EventTypeWarning, "Failed", err.Error())
		return nil, err
	}
	msg := fmt.Sprintf("Container image %q is not pulled: stand-in for %s (Rehearse's stand-in program; declared by %q)", c.spec.Image, c.spec.Image, s.pattern)
	if s.why != "" {
		msg = fmt.Sprintf("Container image %q is served by no registry here (%s): stand-in for %s (Rehearse's stand-in program; the project stands in %s)",
			c.spec.Image, s.why, c.spec.Image, s.pattern)
	}
	w.r.event(w.pod, corev1.EventTypeNormal, "Pulled", msg)
	return &image{ID: "rehearse.dev/stand-in/" + c.spec.Image, Root: root, StandIn: s.pattern, Behaviour: s.behaviour}, nil
}

// runContainer runs one container for as long as the pod and its restart
// policy say. For an init container it returns once the container
// completed (true) or failed for good (false, under restartPolicy Never).
func (w *worker) runContainer(c *container, init bool) bool {
	pullBackoff, crashBackoff := w.r.opts.PullBackoff, w.r.opts.CrashBackoff
	var img *image
	for !w.stopping() {
		if img == nil {
			if pattern, behaviour, ok := w.r.opts.StandIns.Match(c.spec.Image); ok {
				var err error
				if img, err = w.standIn(c, podStandIn{pattern: pattern, behaviour: behaviour}); err != nil {
					return false
				}
			} else {
				w.r.event(w.pod, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", c.spec.Image))
				secrets := w.pullSecrets()
				ctx, cancel := context.WithTimeout(w.ctx, 2*time.Minute)
				start := time.Now()
				pulled, err := w.r.images.pull(ctx, c.spec.Image, secrets, w.r.opts.Credentials)
				cancel()
				if err != nil && notServed(err) {
					if behaviour, ok := w.r.opts.StandIns.Unserved(c.spec.Image); ok {
						if img, err = w.standIn(c, podStandIn{pattern: UnservedPattern, behaviour: behaviour, why: err.Error()}); err != nil {
							return false
						}
					}
				}
				if err != nil {
					if w.stopping() {
						return false
					}
					msg := err.Error() + "; " + provideHint(c.spec.Image)
					w.r.event(w.pod, corev1.EventTypeWarning, "Failed", msg)
					w.setWaiting(c, "ErrImagePull", msg)
					// Like the kubelet: the next sync finds the image in back-off.
					if !w.sleep(time.Second) {
						return false
					}
					msg = fmt.Sprintf("Back-off pulling image %q", c.spec.Image)
					w.r.event(w.pod, corev1.EventTypeNormal, "BackOff", msg)
					w.setWaiting(c, "ImagePullBackOff", msg)
					if !w.sleep(pullBackoff) {
						return false
					}
					pullBackoff = min(2*pullBackoff, maxBackoff)
					continue
				}
				if img == nil {
					img = pulled
					w.r.event(w.pod, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %s", c.spec.Image, time.Since(start).Round(time.Millisecond)))
				}
			}
			w.mu.Lock()
			c.status.ImageID = img.ID
			c.img = img
			w.mu.Unlock()
		}
		p, err := w.startProcess(c, img)
		if err != nil {
			w.r.event(w.pod, corev1.EventTypeWarning, "Failed", err.Error())
			w.setWaiting(c, "CreateContainerConfigError", err.Error())
			if !w.sleep(crashBackoff) {
				return false
			}
			crashBackoff = min(2*crashBackoff, maxBackoff)
			continue
		}
		w.r.event(w.pod, corev1.EventTypeNormal, "Started", "Started container "+c.spec.Name)
		started := time.Now()
		probeCtx, stopProbes := context.WithCancel(w.ctx)
		if !init {
			go w.probeLoop(probeCtx, c, p)
		}
		<-p.Done()
		stopProbes()
		exitCode, _ := p.ExitCode()
		code := int32(exitCode)
		reason, message := "Completed", ""
		if code != 0 {
			// As terminationMessagePolicy FallbackToLogsOnError: the end of
			// the container's log says why it failed.
			reason, message = "Error", p.LogTail(10)
		}
		term := &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: message, StartedAt: metav1.NewTime(started),
			FinishedAt: metav1.Now(), ContainerID: c.status.ContainerID}
		w.mu.Lock()
		c.proc = nil
		c.status.Ready, c.status.Started = false, ptr(false)
		c.status.State = corev1.ContainerState{Terminated: term}
		if init && code == 0 {
			c.status.Ready = true // an init container that completed reports ready, as the kubelet's do
		}
		w.mu.Unlock()
		w.changed()
		if w.stopping() {
			return false
		}
		policy := w.pod.Spec.RestartPolicy
		if init && code == 0 {
			return true
		}
		if policy == corev1.RestartPolicyNever || (policy == corev1.RestartPolicyOnFailure && code == 0) {
			return false
		}
		// A container that ran for a while starts over with a short back-off.
		if time.Since(started) > 10*time.Minute {
			crashBackoff = w.r.opts.CrashBackoff
		}
		msg := fmt.Sprintf("back-off %s restarting failed container %s in pod %s", crashBackoff, c.spec.Name, w.pod.Name)
		w.r.event(w.pod, corev1.EventTypeWarning, "BackOff", msg)
		w.mu.Lock()
		c.status.LastTerminationState = corev1.ContainerState{Terminated: term}
		c.status.RestartCount++
		c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: msg}}
		w.mu.Unlock()
		w.changed()
		if !w.sleep(crashBackoff) {
			return false
		}
		crashBackoff = min(2*crashBackoff, maxBackoff)
	}
	return false
}

// provideHint names the ways to give a pod an image Rehearse cannot pull.
func provideHint(image string) string {
	repo := image
	if i := strings.LastIndexAny(image, ":@"); i > strings.LastIndex(image, "/") {
		repo = image[:i]
	}
	return fmt.Sprintf("provide it in a mapped local registry "+
		"(Given the registry holds %q built from the folder \"...\", or from the image file \"...\"), or declare it stood in "+
		"(Given images matching %q are stood in; or, for every image no registry serves, standInUnserved: true in rehearse.yaml)", image, repo+"*")
}

func (w *worker) pullSecrets() []*corev1.Secret {
	var out []*corev1.Secret
	for _, ref := range w.pod.Spec.ImagePullSecrets {
		ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
		s, err := w.r.cs.CoreV1().Secrets(w.pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		cancel()
		if err == nil {
			out = append(out, s)
		}
	}
	return out
}

func (w *worker) startProcess(c *container, img *image) (*proc.Process, error) {
	env, err := w.environment(c, img)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	mounts, err := w.mounts(ctx, c)
	cancel()
	if err != nil {
		return nil, err
	}
	if len(mounts) > 0 {
		env = append(env, MountsEnv+"="+encodeMounts(mounts))
	}
	argv, path, dir, err := w.commandLine(c.spec.Name, c.spec.Command, c.spec.Args, c.spec.WorkingDir, img, mounts)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	c.env, c.mounts = env, mounts
	w.mu.Unlock()
	if img.StandIn != "" && path == w.r.opts.Helper && len(argv) > 1 && argv[1] == "stand-in" {
		env = append(env, "REHEARSE_STAND_IN_IMAGE="+c.spec.Image,
			"REHEARSE_STAND_IN_PORTS="+strings.Join(w.ports(c), ","),
			"REHEARSE_STAND_IN_BEHAVIOUR="+img.Behaviour.encode())
	}
	p, err := proc.Start(proc.Spec{
		Name: fmt.Sprintf("%s_%s_%s", w.pod.Namespace, w.pod.Name, c.spec.Name), Path: path, Args: argv[1:],
		Env: env, Isolated: true, Dir: dir, LogDir: filepath.Join(w.r.opts.Dir, "logs"),
	})
	if err != nil {
		return nil, err
	}
	now := metav1.Now()
	w.mu.Lock()
	c.proc = p
	c.successes, c.failures = 0, 0
	c.status.ContainerID = fmt.Sprintf("rehearse://%d", p.Pid())
	c.status.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
	// With a startup probe the container has started, and may be ready,
	// only once that probe succeeds (probeLoop).
	c.status.Started = ptr(c.spec.StartupProbe == nil)
	// Without a readiness probe a running container is ready.
	c.status.Ready = c.spec.ReadinessProbe == nil && c.spec.StartupProbe == nil
	w.mu.Unlock()
	w.changed()
	return p, nil
}

// shells are the programs whose scripts run in Rehearse's shell.
var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true}

// commandLine is what runs for a container (or an exec probe): argv as the
// program sees it, the host path of the program and the directory it
// starts in. A stood-in image runs the stand-in; a shell script (sh -c,
// sh FILE, or a file starting with #!/bin/sh run as the command) runs in
// rehearse-container's shell, whatever the image has; any other command
// is the image's own program. Paths under a volume mount are the volume's.
func (w *worker) commandLine(container string, command, args []string, workingDir string, img *image, mounts map[string]string) (argv []string, path, dir string, err error) {
	argv = append(append([]string{}, img.Config.Entrypoint...), img.Config.Cmd...)
	if len(command) > 0 {
		argv = append(append([]string{}, command...), args...)
	} else if len(args) > 0 {
		argv = append(append([]string{}, img.Config.Entrypoint...), args...)
	}
	dir = workingDir
	if dir == "" {
		dir = img.Config.WorkingDir
	}
	if host, ok := mountedPath(mounts, filepath.Join("/", dir)); ok {
		dir = host
	} else {
		dir = filepath.Join(img.Root, dir)
	}
	if sh, ok := shellArgs(argv, img.Root, mounts); ok {
		if w.r.opts.Helper == "" {
			return nil, "", "", fmt.Errorf("container %s: %s runs in Rehearse's shell, which this runtime was not given (podruntime.Options.Helper)", container, argv[0])
		}
		return append([]string{HelperName, "sh"}, sh...), w.r.opts.Helper, dir, nil
	}
	// A script from a volume (a ConfigMap's, say) run as the command runs
	// whatever the image, stood in or not.
	if len(argv) > 0 && filepath.IsAbs(argv[0]) && w.r.opts.Helper != "" {
		if host, ok := mountedPath(mounts, argv[0]); ok && shellScript(host) {
			return append([]string{HelperName, "sh", host}, argv[1:]...), w.r.opts.Helper, dir, nil
		}
	}
	if img.StandIn != "" {
		if w.r.opts.Helper == "" {
			return nil, "", "", fmt.Errorf("container %s: the stand-in for %s needs Rehearse's stand-in program, which this runtime was not given (podruntime.Options.Helper)", container, img.ID)
		}
		// The image's own command is not run: there is no image. Say so
		// in the container's arguments, where kubectl describe shows them.
		return append([]string{HelperName, "stand-in"}, argv...), w.r.opts.Helper, dir, nil
	}
	if len(argv) == 0 {
		return nil, "", "", fmt.Errorf("container %s: the image has no entrypoint and the pod gives no command", container)
	}
	prog := argv[0]
	if !filepath.IsAbs(prog) {
		if strings.Contains(prog, "/") {
			// "./podinfo" is relative to the working directory.
			prog = filepath.Join("/", strings.TrimPrefix(dir, img.Root), prog)
		} else {
			prog = "/usr/local/bin/" + prog
			for _, d := range []string{"/usr/local/bin", "/usr/bin", "/bin", "/app"} {
				if _, err := os.Stat(filepath.Join(img.Root, d, argv[0])); err == nil {
					prog = d + "/" + argv[0]
					break
				}
			}
		}
	}
	path = filepath.Join(img.Root, prog)
	if host, ok := mountedPath(mounts, prog); ok {
		path = host
	}
	if _, err := os.Stat(path); err != nil {
		return nil, "", "", fmt.Errorf("container %s: executable %s not found in image %s", container, prog, img.ID)
	}
	// A shell script run as a program: its #! line names a shell, which
	// is Rehearse's shell here (the machine's /bin/sh would see the
	// machine's files).
	if shellScript(path) {
		if w.r.opts.Helper == "" {
			return nil, "", "", fmt.Errorf("container %s: %s is a shell script, which runs in Rehearse's shell, which this runtime was not given (podruntime.Options.Helper)", container, prog)
		}
		return append([]string{HelperName, "sh", path}, argv[1:]...), w.r.opts.Helper, dir, nil
	}
	return argv, path, dir, nil
}

// shellScript says whether the file starts with a #! line naming a shell.
// rehearse-container's isShellScript is its twin: that program is built in
// a module of its own, from its own files, and imports nothing of this one.
func shellScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 128)
	n, _ := f.Read(head)
	line, _, _ := strings.Cut(string(head[:n]), "\n")
	interp, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return false
	}
	fields := strings.Fields(interp)
	if len(fields) == 0 {
		return false
	}
	prog := fields[0]
	if filepath.Base(prog) == "env" && len(fields) > 1 {
		prog = fields[1]
	}
	return shells[filepath.Base(prog)]
}

// shellArgs turns "sh -c SCRIPT ...", "sh -ec SCRIPT" or "sh FILE ..." into
// rehearse-container sh's arguments (a script file is inside the image, or
// in a volume mounted there).
func shellArgs(argv []string, root string, mounts map[string]string) ([]string, bool) {
	if len(argv) < 2 || !shells[filepath.Base(argv[0])] {
		return nil, false
	}
	flag := argv[1]
	switch {
	case strings.HasPrefix(flag, "-") && strings.Contains(flag, "c") && len(argv) >= 3:
		script := argv[2]
		// Other single-letter options (sh -ec, -xc) become a set line.
		if opts := strings.ReplaceAll(strings.TrimPrefix(flag, "-"), "c", ""); opts != "" {
			script = "set -" + opts + "\n" + script
		}
		return append([]string{"-c", script}, argv[3:]...), true
	case !strings.HasPrefix(flag, "-"):
		file := flag
		if host, ok := mountedPath(mounts, file); ok && filepath.IsAbs(file) {
			file = host
		} else if filepath.IsAbs(file) {
			file = filepath.Join(root, file)
		}
		return append([]string{file}, argv[2:]...), true
	}
	return nil, false
}

// ports are every port a stand-in listens on: the container's ports and
// its probes' (numbers or names of container ports).
func (w *worker) ports(c *container) []string {
	seen := map[int]bool{}
	var out []string
	add := func(n int) {
		if n > 0 && !seen[n] {
			seen[n] = true
			out = append(out, strconv.Itoa(n))
		}
	}
	for _, p := range c.spec.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			add(int(p.ContainerPort))
		}
	}
	for _, pr := range []*corev1.Probe{c.spec.ReadinessProbe, c.spec.LivenessProbe, c.spec.StartupProbe} {
		if pr == nil {
			continue
		}
		var port intstr.IntOrString
		switch {
		case pr.HTTPGet != nil:
			port = pr.HTTPGet.Port
		case pr.TCPSocket != nil:
			port = pr.TCPSocket.Port
		case pr.GRPC != nil:
			add(int(pr.GRPC.Port))
			continue
		default:
			continue
		}
		if n, err := w.port(c, port); err == nil {
			add(n)
		}
	}
	return out
}

// environment is what the kubelet would give the container.
func (w *worker) environment(c *container, img *image) ([]string, error) {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, kv := range img.Config.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			set(k, v)
		}
	}
	set("HOSTNAME", w.pod.Name)
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	defer cancel()
	core := w.r.cs.CoreV1()
	for _, from := range c.spec.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, err := core.ConfigMaps(w.pod.Namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
					continue
				}
				return nil, fmt.Errorf("configmap %q not found", from.ConfigMapRef.Name)
			}
			for k, v := range cm.Data {
				set(from.Prefix+k, v)
			}
		case from.SecretRef != nil:
			s, err := core.Secrets(w.pod.Namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if from.SecretRef.Optional != nil && *from.SecretRef.Optional {
					continue
				}
				return nil, fmt.Errorf("secret %q not found", from.SecretRef.Name)
			}
			for k, v := range s.Data {
				set(from.Prefix+k, string(v))
			}
		}
	}
	for _, e := range c.spec.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vars))
			continue
		}
		v, err := w.valueFrom(ctx, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		set(e.Name, v)
	}
	set("REHEARSE_POD_ADDRESS", w.local)
	set("REHEARSE_IMAGE_ROOT", img.Root)
	set(ResolverEnv, w.r.resolver)
	set("REHEARSE_POD_NAMESPACE", w.pod.Namespace)
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out, nil
}

// expand replaces $(VAR) with earlier variables, as Kubernetes does.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "$(")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i:], ")")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		if v, ok := vars[s[i+2:i+j]]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
}

func (w *worker) valueFrom(ctx context.Context, src *corev1.EnvVarSource) (string, error) {
	core := w.r.cs.CoreV1()
	switch {
	case src.FieldRef != nil:
		switch src.FieldRef.FieldPath {
		case "metadata.name":
			return w.pod.Name, nil
		case "metadata.namespace":
			return w.pod.Namespace, nil
		case "metadata.uid":
			return string(w.pod.UID), nil
		case "spec.nodeName":
			return w.pod.Spec.NodeName, nil
		case "spec.serviceAccountName":
			return w.pod.Spec.ServiceAccountName, nil
		case "status.podIP":
			return w.podIP, nil
		case "status.hostIP":
			return "127.0.0.1", nil
		}
		if k, ok := strings.CutPrefix(src.FieldRef.FieldPath, "metadata.labels['"); ok {
			return w.pod.Labels[strings.TrimSuffix(k, "']")], nil
		}
		return "", fmt.Errorf("field %s is not supported by Rehearse's pod runtime", src.FieldRef.FieldPath)
	case src.ConfigMapKeyRef != nil:
		cm, err := core.ConfigMaps(w.pod.Namespace).Get(ctx, src.ConfigMapKeyRef.Name, metav1.GetOptions{})
		if err == nil {
			if v, ok := cm.Data[src.ConfigMapKeyRef.Key]; ok {
				return v, nil
			}
		}
		if src.ConfigMapKeyRef.Optional != nil && *src.ConfigMapKeyRef.Optional {
			return "", nil
		}
		return "", fmt.Errorf("configmap %q has no key %q", src.ConfigMapKeyRef.Name, src.ConfigMapKeyRef.Key)
	case src.SecretKeyRef != nil:
		s, err := core.Secrets(w.pod.Namespace).Get(ctx, src.SecretKeyRef.Name, metav1.GetOptions{})
		if err == nil {
			if v, ok := s.Data[src.SecretKeyRef.Key]; ok {
				return string(v), nil
			}
		}
		if src.SecretKeyRef.Optional != nil && *src.SecretKeyRef.Optional {
			return "", nil
		}
		return "", fmt.Errorf("secret %q has no key %q", src.SecretKeyRef.Name, src.SecretKeyRef.Key)
	}
	return "", fmt.Errorf("this kind of valueFrom is not supported by Rehearse's pod runtime")
}

// probeLoop runs the startup probe, then the readiness and liveness
// probes, while p lives. As with the kubelet, readiness and liveness wait
// for the startup probe to succeed, and a startup probe that fails its
// threshold restarts the container.
func (w *worker) probeLoop(ctx context.Context, c *container, p *proc.Process) {
	if sp := c.spec.StartupProbe; sp != nil {
		if !w.startup(ctx, c, p, sp) {
			return
		}
	}
	var wg sync.WaitGroup
	if rp := c.spec.ReadinessProbe; rp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.runProbe(ctx, c, rp, func(ok bool, msg string) {
				w.mu.Lock()
				if ok {
					c.successes, c.failures = c.successes+1, 0
				} else {
					c.failures, c.successes = c.failures+1, 0
				}
				changed := false
				if !c.status.Ready && ok && c.successes >= threshold(rp.SuccessThreshold) {
					c.status.Ready, changed = true, true
				}
				if c.status.Ready && !ok && c.failures >= threshold(rp.FailureThreshold) {
					c.status.Ready, changed = false, true
				}
				w.mu.Unlock()
				if !ok {
					w.r.event(w.pod, corev1.EventTypeWarning, "Unhealthy", "Readiness probe failed: "+msg)
				}
				if changed {
					w.changed()
				}
			})
		}()
	}
	if lp := c.spec.LivenessProbe; lp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			failures := 0
			w.runProbe(ctx, c, lp, func(ok bool, msg string) {
				if ok {
					failures = 0
					return
				}
				failures++
				w.r.event(w.pod, corev1.EventTypeWarning, "Unhealthy", "Liveness probe failed: "+msg)
				if failures >= threshold(lp.FailureThreshold) {
					w.r.event(w.pod, corev1.EventTypeNormal, "Killing", fmt.Sprintf("Container %s failed liveness probe, will be restarted", c.spec.Name))
					go p.Stop(30 * time.Second)
				}
			})
		}()
	}
	wg.Wait()
}

// startup runs the startup probe until it succeeds (true: the container
// has started) or fails its threshold (false: the container is stopped,
// to be restarted as its pod's policy says).
func (w *worker) startup(ctx context.Context, c *container, p *proc.Process, sp *corev1.Probe) bool {
	sctx, done := context.WithCancel(ctx)
	defer done()
	started, failures := false, 0
	w.runProbe(sctx, c, sp, func(ok bool, msg string) {
		if ok {
			started = true
			done()
			return
		}
		failures++
		w.r.event(w.pod, corev1.EventTypeWarning, "Unhealthy", "Startup probe failed: "+msg)
		if failures >= threshold(sp.FailureThreshold) {
			w.r.event(w.pod, corev1.EventTypeNormal, "Killing", fmt.Sprintf("Container %s failed startup probe, will be restarted", c.spec.Name))
			go p.Stop(30 * time.Second)
			done()
		}
	})
	if !started {
		return false
	}
	w.mu.Lock()
	c.status.Started = ptr(true)
	c.status.Ready = c.spec.ReadinessProbe == nil
	w.mu.Unlock()
	w.changed()
	return true
}

func threshold(n int32) int {
	if n <= 0 {
		return 1
	}
	return int(n)
}

func (w *worker) runProbe(ctx context.Context, c *container, pr *corev1.Probe, report func(ok bool, msg string)) {
	period := time.Duration(pr.PeriodSeconds) * time.Second
	if period <= 0 {
		period = 10 * time.Second
	}
	timeout := time.Duration(pr.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second
	}
	if d := time.Duration(pr.InitialDelaySeconds) * time.Second; d > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
	for {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		ok, msg := w.probeOnce(pctx, c, pr)
		cancel()
		if ctx.Err() != nil {
			return
		}
		report(ok, msg)
		select {
		case <-ctx.Done():
			return
		case <-time.After(period):
		}
	}
}

func (w *worker) port(c *container, p intstr.IntOrString) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.spec.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("container %s has no port named %q", c.spec.Name, p.StrVal)
}

func (w *worker) probeOnce(ctx context.Context, c *container, pr *corev1.Probe) (bool, string) {
	switch {
	case pr.HTTPGet != nil:
		port, err := w.port(c, pr.HTTPGet.Port)
		if err != nil {
			return false, err.Error()
		}
		host := pr.HTTPGet.Host
		if host == "" {
			host = w.podIP
		}
		scheme := strings.ToLower(string(pr.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), pr.HTTPGet.Path)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err.Error()
		}
		req.Header.Set("User-Agent", "kube-probe/rehearse")
		for _, h := range pr.HTTPGet.HTTPHeaders {
			req.Header.Set(h.Name, h.Value)
		}
		client := w.r.probe
		if scheme == "https" {
			client = &http.Client{Transport: &http.Transport{DialContext: Dial,
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // #nosec: probes do not verify, as the kubelet's do not
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, fmt.Sprintf("Get %q: %v", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 400 {
			return true, ""
		}
		return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
	case pr.TCPSocket != nil:
		port, err := w.port(c, pr.TCPSocket.Port)
		if err != nil {
			return false, err.Error()
		}
		conn, err := Dial(ctx, "tcp", net.JoinHostPort(w.podIP, strconv.Itoa(port)))
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	case pr.Exec != nil:
		return w.execProbe(ctx, c, pr.Exec.Command)
	case pr.GRPC != nil:
		// Real images and stand-ins alike: a stand-in serves the gRPC
		// health service on every port.
		service := ""
		if pr.GRPC.Service != nil {
			service = *pr.GRPC.Service
		}
		return grpcHealth(ctx, Dial, net.JoinHostPort(w.podIP, strconv.Itoa(int(pr.GRPC.Port))), service)
	}
	return false, "the probe has no handler (httpGet, tcpSocket, exec or grpc)"
}

// execProbe runs a probe's command in the container's image, with the
// container's environment: a shell script in Rehearse's shell, a program
// from the image's files. A stand-in has no programs; its exec probes
// pass, as its HTTP ones do.
func (w *worker) execProbe(ctx context.Context, c *container, command []string) (bool, string) {
	w.mu.Lock()
	img, env, mounts := c.img, c.env, c.mounts
	w.mu.Unlock()
	if img == nil {
		return false, "the container has no image yet"
	}
	if _, isShell := shellArgs(command, img.Root, mounts); img.StandIn != "" && !isShell {
		return true, ""
	}
	argv, path, dir, err := w.commandLine(c.spec.Name, command, nil, c.spec.WorkingDir, img, mounts)
	if err != nil {
		return false, err.Error()
	}
	// The container's own environment, as it was resolved at its start:
	// reading its ConfigMaps and Secrets again on every probe period would
	// be API traffic the kubelet does not make.
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Args[0], cmd.Dir, cmd.Env = argv[0], dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return false, fmt.Sprintf("command %q: %v: %s", strings.Join(command, " "), err, strings.TrimSpace(string(out)))
	}
	return true, ""
}

// publishLoop writes the pod's status whenever it changes.
func (w *worker) publishLoop() {
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-w.kick:
		}
		w.publishNow()
	}
}

func (w *worker) publishNow() {
	for attempt := 0; attempt < 5; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.publish(ctx)
		cancel()
		if err == nil || apierrors.IsNotFound(err) {
			return
		}
		if !apierrors.IsConflict(err) {
			w.r.logf("podruntime: status of %s: %v", w.key(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *worker) publish(ctx context.Context) error {
	pods := w.r.cs.CoreV1().Pods(w.pod.Namespace)
	pod, err := pods.Get(ctx, w.pod.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if pod.UID != w.pod.UID {
		return apierrors.NewNotFound(corev1.Resource("pods"), w.pod.Name)
	}
	w.mu.Lock()
	st := pod.Status.DeepCopy()
	st.HostIP, st.PodIP = "127.0.0.1", w.podIP
	st.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	st.PodIPs = []corev1.PodIP{{IP: w.podIP}}
	st.StartTime = &w.startTime
	st.ContainerStatuses, st.InitContainerStatuses = nil, nil
	initFailed := false
	for _, c := range w.inits {
		st.InitContainerStatuses = append(st.InitContainerStatuses, c.status)
		if t := c.status.State.Terminated; t != nil && t.ExitCode != 0 {
			initFailed = true
		}
	}
	initialized := w.initialized
	allReady, anyRunning, allDone, anyFailed := true, false, true, false
	for _, c := range w.containers {
		cs := c.status
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		allReady = allReady && cs.Ready
		anyRunning = anyRunning || cs.State.Running != nil
		if t := cs.State.Terminated; t != nil {
			anyFailed = anyFailed || t.ExitCode != 0
		} else {
			allDone = false
		}
	}
	if allReady != w.wasReady || w.readySince.IsZero() {
		w.readySince, w.wasReady = metav1.Now(), allReady
	}
	since := w.readySince
	w.mu.Unlock()

	policy := pod.Spec.RestartPolicy
	switch {
	case !initialized && initFailed && policy == corev1.RestartPolicyNever:
		st.Phase = corev1.PodFailed
	case !initialized:
		st.Phase = corev1.PodPending
	case anyRunning:
		st.Phase = corev1.PodRunning
	case allDone && policy == corev1.RestartPolicyNever && anyFailed:
		st.Phase = corev1.PodFailed
	case allDone && policy != corev1.RestartPolicyAlways && !anyFailed:
		st.Phase = corev1.PodSucceeded
	case st.Phase == "":
		st.Phase = corev1.PodPending
	}
	ready := corev1.ConditionFalse
	if allReady {
		ready = corev1.ConditionTrue
	}
	setCondition(st, corev1.PodScheduled, corev1.ConditionTrue, metav1.Now())
	init := corev1.ConditionTrue
	if !initialized {
		init = corev1.ConditionFalse
	}
	setCondition(st, corev1.PodInitialized, init, metav1.Now())
	setCondition(st, corev1.ContainersReady, ready, since)
	setCondition(st, corev1.PodReady, ready, since)
	pod.Status = *st
	_, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

func setCondition(st *corev1.PodStatus, t corev1.PodConditionType, s corev1.ConditionStatus, at metav1.Time) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			if st.Conditions[i].Status != s {
				st.Conditions[i].Status, st.Conditions[i].LastTransitionTime = s, at
			}
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: s, LastTransitionTime: at})
}
