package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"golang.org/x/crypto/bcrypt"

	"github.com/rehearse/rehearse/internal/binaries"
	"github.com/rehearse/rehearse/internal/logging"
	"github.com/rehearse/rehearse/internal/loopback"
	"github.com/rehearse/rehearse/internal/netns"
	"github.com/rehearse/rehearse/internal/proc"
	"github.com/rehearse/rehearse/internal/timescale"
)

// Namespace is where Argo CD's own objects and Applications live.
const Namespace = "argocd"

// FieldManager is the server-side apply manager Rehearse writes as.
const FieldManager = "rehearse"

var (
	applicationGVR    = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	applicationSetGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}
	appProjectGVR     = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "appprojects"}
	crdGVR            = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// Settings configure an engine; set them with Options.
type Settings struct {
	Line         Line
	Cache        *binaries.Cache
	Rewriter     *loopback.Rewriter
	Log          logging.Logger
	StartTimeout time.Duration
	// Poll is the seed's poll interval (Argo CD's timeout.reconciliation)
	// and Jitter its timeout.reconciliation.jitter, both in seed time.
	Poll, Jitter time.Duration
	// Scale compresses every duration Argo CD is configured with.
	Scale *timescale.Scale
	// ControllerArgs are appended to the application-controller's flags
	// (self-heal backoff and the like).
	ControllerArgs []string
	// ControllerEnv is added to the application-controller's environment:
	// Argo CD's scaling settings that have no flag (ARGOCD_K8S_CLIENT_QPS,
	// ARGOCD_K8S_CLIENT_BURST), as a Deployment's env would set them.
	ControllerEnv []string
	// HTTPProxy, when set, is the Argo Rollouts controller's HTTP_PROXY.
	HTTPProxy string
	// Redis is Argo CD's cache: RedisEmbedded (default) or RedisServer.
	Redis string
	// Profiling opens Argo CD's pprof endpoints on each component's
	// metrics port (see MetricsURL).
	Profiling bool
}

// Option changes Settings.
type Option func(*Settings)

// WithVersion selects the Argo CD line ("v3.2.11", "v3.6.1").
func WithVersion(v string) Option {
	return func(s *Settings) {
		if l, err := LineFor(v); err == nil {
			s.Line = l
		} else {
			s.Line = Line{ArgoCD: v}
		}
	}
}

// WithCache sets the binary cache.
func WithCache(c *binaries.Cache) Option { return func(s *Settings) { s.Cache = c } }

// WithRewriter sets the URL rewrite table applied to every repoURL.
func WithRewriter(r *loopback.Rewriter) Option { return func(s *Settings) { s.Rewriter = r } }

// WithLogger receives progress.
func WithLogger(l logging.Logger) Option { return func(s *Settings) { s.Log = l } }

// WithPolling sets the poll interval (timeout.reconciliation) and its
// jitter, in seed time. The default is the seed's "every 3 min", no jitter.
func WithPolling(every, jitter time.Duration) Option {
	return func(s *Settings) { s.Poll, s.Jitter = every, jitter }
}

// WithTimeScale compresses Argo CD's intervals: poll, jitter, self-heal
// backoff, and the retry backoff of every Application applied.
func WithTimeScale(scale *timescale.Scale) Option { return func(s *Settings) { s.Scale = scale } }

// WithControllerArgs appends flags to the application-controller.
func WithControllerArgs(args ...string) Option {
	return func(s *Settings) { s.ControllerArgs = append(s.ControllerArgs, args...) }
}

// WithControllerEnv adds NAME=value pairs to the application-controller's
// environment.
func WithControllerEnv(env ...string) Option {
	return func(s *Settings) { s.ControllerEnv = append(s.ControllerEnv, env...) }
}

// WithProfiling opens the pprof endpoints of the application-controller,
// repo-server and argocd-server on their metrics ports (127.0.0.1), as
// argocd-cmd-params-cm's controller.profile.enabled does in a cluster.
func WithProfiling() Option { return func(s *Settings) { s.Profiling = true } }

func settings(opts []Option) (Settings, error) {
	s := Settings{StartTimeout: 2 * time.Minute, Poll: 3 * time.Minute}
	s.Line, _ = LineFor(DefaultArgoCDVersion)
	for _, o := range opts {
		o(&s)
	}
	if s.Line.Helm == "" {
		_, err := LineFor(s.Line.ArgoCD)
		return s, err
	}
	if s.Cache == nil {
		root, err := binaries.DefaultRoot()
		if err != nil {
			return s, err
		}
		s.Cache = &binaries.Cache{Root: root, Log: s.Log}
	}
	if s.Rewriter == nil {
		s.Rewriter = loopback.NewRewriter()
	}
	if s.Scale == nil {
		s.Scale, _ = timescale.New(1)
	}
	return s, nil
}

// Prepare builds Argo CD, its Helm CLI and Argo Rollouts if they are not
// cached yet.
func Prepare(ctx context.Context, opts ...Option) error {
	s, err := settings(opts)
	if err != nil {
		return err
	}
	for _, r := range []binaries.Recipe{HelmRecipe(s.Line), KustomizeRecipe(s.Line), ArgoCDRecipe(s.Line), RolloutsRecipe(DefaultRolloutsVersion)} {
		if _, err := s.Cache.Ensure(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// timings are Argo CD's intervals at the run's time scale, computed once so
// the flags, argocd-cm and the steps that reason about them always agree.
// Whole seconds where the component only takes whole seconds.
type timings struct {
	poll, jitter                    int // seconds
	healBase, healCap, healCooldown int // seconds
	repoErrorGrace                  int // seconds
	syncWaveDelay                   int // seconds
	revisionCache                   time.Duration
}

// healFactor is Argo CD's default self-heal backoff factor (not a duration,
// so not scaled).
const healFactor = 3

func compress(s Settings) timings {
	sc := s.Scale
	return timings{
		poll:   sc.WholeSeconds("argocd-cm timeout.reconciliation, controller --app-resync (poll)", s.Poll),
		jitter: sc.WholeSeconds("argocd-cm timeout.reconciliation.jitter, controller --app-resync-jitter", s.Jitter),
		// Argo CD's defaults: 2 s x 3^(n-1), capped at 300 s, reset after 330 s synced.
		healBase:     sc.WholeSeconds("controller --self-heal-backoff-timeout-seconds", 2*time.Second),
		healCap:      sc.WholeSeconds("controller --self-heal-backoff-cap-seconds", 300*time.Second),
		healCooldown: sc.WholeSeconds("controller --self-heal-backoff-cooldown-seconds", 330*time.Second),
		// The repo-server caches what a branch resolves to (default 3m, the
		// same as the poll): compressed with it, or a poll would keep seeing
		// the old commit for minutes of seed time.
		revisionCache: sc.Convert("repo-server --revision-cache-expiration", 3*time.Minute),
		// The controller ignores repo-server errors for this long (default
		// 180 s) before it reports a ComparisonError.
		repoErrorGrace: sc.WholeSeconds("controller --repo-error-grace-period-seconds", 180*time.Second),
		// The controller sleeps this long (default 2 s) between the sync
		// waves of an operation, holding one of its operation processors:
		// a namespace created by CreateNamespace is a wave of its own.
		syncWaveDelay: sc.WholeSeconds("controller ARGOCD_SYNC_WAVE_DELAY (between sync waves)", 2*time.Second),
	}
}

// Engine is a running Argo CD bound to one cluster.
type Engine struct {
	settings   Settings
	dir        string
	kubeconfig string
	rest       *rest.Config
	kube       kubernetes.Interface
	dyn        dynamic.Interface
	procs      proc.Group
	repoAddr   string
	argocd     string
	serverAddr string
	redisAddr  string
	embedded   *embeddedRedis // Argo CD's cache when it is RedisEmbedded
	// isolation holds the components that bind every address (their
	// metrics and health ports, by code): nil where the machine does not
	// allow a network namespace, and then those ports are on 0.0.0.0.
	isolation *netns.Namespace
	env       []string
	// metricsPorts are the components' metrics (and pprof) ports.
	metricsPorts map[string]int
	once         sync.Once
	// adminPassword is the password of Argo CD's admin account.
	adminPassword string
	timings       timings

	appSetMu      sync.Mutex
	appSetStarted bool

	rolloutsMu      sync.Mutex
	rolloutsStarted bool
	rolloutsStartup time.Duration // from StartRollouts' call to /healthz answering
}

// Start installs Argo CD into the cluster behind kubeconfig (CRDs, config,
// the default AppProject) and starts redis, repo-server,
// application-controller and argocd-server on 127.0.0.1.
func Start(ctx context.Context, kubeconfig string, opts ...Option) (*Engine, error) {
	s, err := settings(opts)
	if err != nil {
		return nil, err
	}
	if err := Prepare(ctx, opts...); err != nil {
		return nil, err
	}
	e := &Engine{settings: s, kubeconfig: kubeconfig, adminPassword: randomPassword(), timings: compress(s)}
	if err := e.start(ctx); err != nil {
		e.Stop()
		return nil, fmt.Errorf("starting Argo CD %s: %w", s.Line.ArgoCD, err)
	}
	return e, nil
}

// MetricsURL is where a component ("argocd-application-controller",
// "argocd-repo-server", "argocd-server") serves /metrics and, when the
// engine was started WithProfiling, /debug/pprof/.
func (e *Engine) MetricsURL(component string) (string, error) {
	port, ok := e.metricsPorts[component]
	if !ok {
		return "", fmt.Errorf("no metrics port for Argo CD component %q", component)
	}
	return "http://127.0.0.1:" + strconv.Itoa(port), nil
}

// Version is the running Argo CD version.
func (e *Engine) Version() string { return e.settings.Line.ArgoCD }

// ServerAddr is argocd-server's host:port (plaintext gRPC/HTTP).
func (e *Engine) ServerAddr() string { return e.serverAddr }

// Dir holds the engine's logs and state.
func (e *Engine) Dir() string { return e.dir }

// Rewriter is the table applied to repository URLs.
func (e *Engine) Rewriter() *loopback.Rewriter { return e.settings.Rewriter }

// Stop stops every component and removes the engine's directory.
func (e *Engine) Stop() {
	e.once.Do(func() {
		e.procs.StopAll(5 * time.Second)
		if e.isolation != nil {
			_ = e.isolation.Close()
		}
		if e.embedded != nil {
			// After the components: none of them may lose its cache mid-call.
			// What it did not serve stays readable (CacheUnserved).
			e.embedded.Close()
		}
		if e.dir != "" {
			_ = os.RemoveAll(e.dir)
		}
	})
}

// RSS reports each component's resident memory in bytes.
func (e *Engine) RSS() map[string]uint64 { return e.procs.RSS() }

// Scale is the time scale Argo CD runs at.
func (e *Engine) Scale() *timescale.Scale { return e.settings.Scale }

// PollInterval is the real (compressed) poll interval.
func (e *Engine) PollInterval() time.Duration { return time.Duration(e.timings.poll) * time.Second }

// HealBackoff is the self-heal backoff the controller was started with
// (real time).
func (e *Engine) HealBackoff() SelfHealBackoff {
	return SelfHealBackoff{Base: time.Duration(e.timings.healBase) * time.Second, Factor: healFactor, Max: time.Duration(e.timings.healCap) * time.Second}
}

// WebhookURL is argocd-server's Git webhook endpoint.
func (e *Engine) WebhookURL() string { return "http://" + e.serverAddr + "/api/webhook" }

// Healthy returns an error if a component has exited.
func (e *Engine) Healthy() error { return e.procs.Exited() }

func (e *Engine) logf(format string, args ...any) {
	if e.settings.Log != nil {
		e.settings.Log.Printf(format, args...)
	}
}

func (e *Engine) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.settings.StartTimeout)
	defer cancel()
	var err error
	if e.dir, err = os.MkdirTemp("", "rehearse-argocd-"); err != nil {
		return err
	}
	for _, d := range []string{"logs", "tls", "ssh", "gnupg", "tmp", "home", "bin"} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o700); err != nil {
			return err
		}
	}
	if e.rest, err = clientcmd.BuildConfigFromFlags("", e.kubeconfig); err != nil {
		return fmt.Errorf("kubeconfig %s: %w", e.kubeconfig, err)
	}
	e.rest.QPS, e.rest.Burst = 100, 200
	// API deprecation warnings (e.g. on Argo CD's finalizer name) are not
	// the scenario's business and would clutter its output.
	e.rest.WarningHandler = rest.NoWarnings{}
	if e.kube, err = kubernetes.NewForConfig(e.rest); err != nil {
		return err
	}
	if e.dyn, err = dynamic.NewForConfig(e.rest); err != nil {
		return err
	}
	argoBin := e.settings.Cache.BinDir(ArgoCDRecipe(e.settings.Line))
	helmBin := e.settings.Cache.BinDir(HelmRecipe(e.settings.Line))
	kustomizeBin := e.settings.Cache.BinDir(KustomizeRecipe(e.settings.Line))
	e.argocd = filepath.Join(argoBin, "argocd")
	// git-verify-wrapper.sh must be on PATH even with GPG off, or every
	// manifest generation fails with "permission denied".
	wrapper := filepath.Join(e.dir, "bin", "git-verify-wrapper.sh")
	if b, err := os.ReadFile(filepath.Join(argoBin, "hack", "git-verify-wrapper.sh")); err != nil {
		return err
	} else if err := os.WriteFile(wrapper, b, 0o755); err != nil {
		return err
	}
	ports := map[string]int{}
	for _, name := range []string{"repo", "repo-metrics", "controller-metrics", "server", "server-metrics", "notifications-metrics"} {
		if ports[name], err = loopback.FreePort(); err != nil {
			return err
		}
	}
	e.serverAddr = "127.0.0.1:" + strconv.Itoa(ports["server"])
	if err := e.isolate(ports["controller-metrics"], ports["notifications-metrics"]); err != nil {
		return err
	}
	if err := e.install(ctx, argoBin); err != nil {
		return err
	}
	e.env = []string{
		"ARGOCD_FAKE_IN_CLUSTER=true",
		"KUBECONFIG=" + e.kubeconfig,
		"ARGOCD_TLS_DATA_PATH=" + filepath.Join(e.dir, "tls"),
		"ARGOCD_SSH_DATA_PATH=" + filepath.Join(e.dir, "ssh"),
		"ARGOCD_GNUPGHOME=" + filepath.Join(e.dir, "gnupg"),
		"GNUPGHOME=" + filepath.Join(e.dir, "gnupg"),
		"ARGOCD_GPG_ENABLED=false",
		// Microsecond timestamps, so log lines order against other
		// observations in a scenario's sequence diagram.
		"ARGOCD_LOG_FORMAT_TIMESTAMP=" + LogTimestampFormat,
		"ARGOCD_LOG_FORMAT_ENABLE_FULL_TIMESTAMP=1",
		"TMPDIR=" + filepath.Join(e.dir, "tmp"),
		"HOME=" + filepath.Join(e.dir, "home"),
		// argoBin too: the repo-server points GIT_ASKPASS at "argocd" to hand
		// repository credentials to git.
		"PATH=" + helmBin + ":" + kustomizeBin + ":" + argoBin + ":" + filepath.Join(e.dir, "bin") + ":" + os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1",
		// The repo-server hands credentials to git through a Unix socket
		// whose default path is the fixed /tmp/reposerver-ask-pass.sock:
		// two engines on one machine would steal each other's socket.
		"ARGOCD_ASK_PASS_SOCK=" + filepath.Join(e.dir, "askpass.sock"),
		"ARGOCD_SYNC_WAVE_DELAY=" + strconv.Itoa(e.timings.syncWaveDelay),
	}
	e.metricsPorts = map[string]int{"argocd-application-controller": ports["controller-metrics"],
		"argocd-repo-server": ports["repo-metrics"], "argocd-server": ports["server-metrics"]}
	if e.settings.Profiling {
		// Argo CD serves pprof only while this file says "true"; in a
		// cluster it is mounted from argocd-cmd-params-cm.
		enabled := filepath.Join(e.dir, "profiler.enabled")
		if err := os.WriteFile(enabled, []byte("true"), 0o644); err != nil {
			return err
		}
		e.env = append(e.env, "ARGOCD_ENABLE_PROFILER_FILE_PATH="+enabled)
	}
	if e.redisAddr, err = e.startCache(); err != nil {
		return err
	}

	repoAddr := "127.0.0.1:" + strconv.Itoa(ports["repo"])
	e.repoAddr = repoAddr
	repoArgs := []string{"--address", "127.0.0.1", "--port", strconv.Itoa(ports["repo"]), "--disable-tls",
		"--metrics-address", "127.0.0.1", "--metrics-port", strconv.Itoa(ports["repo-metrics"]),
		"--redis", e.redisAddr, "--loglevel", "info"}
	if e.hasFlag(ctx, "argocd-repo-server", "--revision-cache-expiration") {
		repoArgs = append(repoArgs, "--revision-cache-expiration", e.timings.revisionCache.String())
	}
	if e.hasFlag(ctx, "argocd-repo-server", "--client-ca-path") {
		// Newer lines exit at start without it when TLS is disabled.
		repoArgs = append(repoArgs, "--client-ca-path", "")
	}
	if _, err := e.startComponent("argocd-repo-server", repoArgs); err != nil {
		return err
	}
	if err := e.procs.WaitFor(ctx, "argocd-repo-server on "+repoAddr, 100*time.Millisecond, proc.TCPOpen(repoAddr)); err != nil {
		return err
	}
	controllerArgs := []string{"--namespace", Namespace, "--repo-server", repoAddr, "--repo-server-plaintext",
		"--redis", e.redisAddr, "--metrics-port", strconv.Itoa(ports["controller-metrics"]),
		"--app-resync", strconv.Itoa(e.timings.poll),
		// Its default is 60 s of jitter on top of every poll.
		"--app-resync-jitter", strconv.Itoa(e.timings.jitter),
		"--self-heal-backoff-timeout-seconds", strconv.Itoa(e.timings.healBase),
		"--self-heal-backoff-factor", strconv.Itoa(healFactor),
		"--self-heal-backoff-cooldown-seconds", strconv.Itoa(e.timings.healCooldown),
		"--self-heal-backoff-cap-seconds", strconv.Itoa(e.timings.healCap),
		"--repo-error-grace-period-seconds", strconv.Itoa(e.timings.repoErrorGrace),
		"--status-processors", "20", "--operation-processors", "10", "--loglevel", "info"}
	controllerArgs = append(controllerArgs, e.settings.ControllerArgs...)
	if _, err := e.startComponent("argocd-application-controller", controllerArgs, e.settings.ControllerEnv...); err != nil {
		return err
	}
	// The notifications controller's metrics port cannot be bound to
	// 127.0.0.1 by flag; it gets a free port.
	if _, err := e.startComponent("argocd-notifications", []string{"--namespace", Namespace,
		"--argocd-repo-server", repoAddr, "--argocd-repo-server-plaintext",
		"--metrics-port", strconv.Itoa(ports["notifications-metrics"]), "--loglevel", "info"}); err != nil {
		return err
	}
	if _, err := e.startComponent("argocd-server", []string{"--namespace", Namespace, "--insecure",
		"--address", "127.0.0.1", "--port", strconv.Itoa(ports["server"]),
		"--metrics-address", "127.0.0.1", "--metrics-port", strconv.Itoa(ports["server-metrics"]),
		"--repo-server", repoAddr, "--repo-server-plaintext", "--redis", e.redisAddr, "--staticassets", "", "--loglevel", "info"}); err != nil {
		return err
	}
	if err := e.procs.WaitFor(ctx, "argocd-server /healthz", 100*time.Millisecond, proc.HTTPOK("http://"+e.serverAddr+"/healthz")); err != nil {
		return err
	}
	if err := e.procs.WaitFor(ctx, "argocd-application-controller /healthz", 100*time.Millisecond,
		proc.HTTPOK("http://127.0.0.1:"+strconv.Itoa(ports["controller-metrics"])+"/healthz")); err != nil {
		return err
	}
	// The CLI acts as the seed's Admin: a real login, so operations carry
	// the user name in initiatedBy.
	if out, err := e.CLI(ctx, "login", e.serverAddr, "--plaintext", "--username", "admin", "--password", e.adminPassword); err != nil {
		return fmt.Errorf("argocd login as admin: %w: %s", err, out)
	}
	return nil
}

// AdminPassword is the password of the admin account (for people exploring
// a kept environment).
func (e *Engine) AdminPassword() string { return e.adminPassword }

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (e *Engine) startComponent(name string, args []string, env ...string) (*proc.Process, error) {
	env = append(append(append([]string{}, e.env...), env...), "ARGOCD_BINARY_NAME="+name)
	spec := proc.Spec{Name: name, Path: e.argocd, Args: args, LogDir: filepath.Join(e.dir, "logs"), Dir: e.dir, Env: env}
	if bindsEveryAddress(name) && e.isolation != nil {
		spec.Namespace = e.isolation
	}
	return e.procs.Start(spec)
}

// bindsEveryAddress are the components whose metrics (and health) port is
// bound to 0.0.0.0 by code, with no flag, variable or setting to change it
// (Argo CD v3.2.11 and v3.6.1: controller/appcontroller.go and the
// notifications command; Argo Rollouts v1.10.2: controller/controller.go).
func bindsEveryAddress(component string) bool {
	switch component {
	case "argocd-application-controller", "argocd-notifications", RolloutsComponent:
		return true
	}
	return false
}

// isolate gives the components that bind every address a network
// namespace of their own, with their ports exposed on 127.0.0.1. Where the
// machine refuses (not root), they run as before and the engine says so.
func (e *Engine) isolate(ports ...int) error {
	ns, err := netns.New()
	if err != nil {
		e.logf("Argo CD's controllers will listen on every address: %v", err)
		return nil
	}
	for _, p := range ports {
		if err := ns.Expose(p); err != nil {
			_ = ns.Close()
			return err
		}
	}
	e.isolation = ns
	return nil
}

// Isolated reports whether the components that bind every address run in
// a network namespace of their own.
func (e *Engine) Isolated() bool { return e.isolation != nil }

// hasFlag asks a component's --help whether it knows a flag, so one start
// sequence serves every Argo CD line.
func (e *Engine) hasFlag(ctx context.Context, component, flag string) bool {
	cmd := exec.CommandContext(ctx, e.argocd, "--help")
	cmd.Env = append(os.Environ(), "ARGOCD_BINARY_NAME="+component)
	out, _ := cmd.CombinedOutput()
	return bytes.Contains(out, []byte(flag+" "))
}

// install applies the CRDs, the argocd namespace, the base config and the
// default AppProject.
func (e *Engine) install(ctx context.Context, argoBin string) error {
	if err := e.installCRDsAndNamespace(ctx, "Argo CD", argoBin, Namespace); err != nil {
		return err
	}
	configs, err := filepath.Glob(filepath.Join(argoBin, "manifests", "base", "config", "argocd-*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range configs {
		objs, err := readManifests(f)
		if err != nil {
			return err
		}
		for _, o := range objs {
			o.SetNamespace(Namespace)
			if o.GetName() == "argocd-secret" {
				// The admin account the seed's Admin uses with the argocd
				// CLI; a random password per engine.
				hash, err := bcrypt.GenerateFromPassword([]byte(e.adminPassword), bcrypt.MinCost)
				if err != nil {
					return err
				}
				_ = unstructured.SetNestedStringMap(o.Object, map[string]string{
					"admin.password":      string(hash),
					"admin.passwordMtime": time.Now().UTC().Format(time.RFC3339),
				}, "stringData")
			}
			if o.GetName() == "argocd-cm" {
				data, _, _ := unstructured.NestedStringMap(o.Object, "data")
				if data == nil {
					data = map[string]string{}
				}
				data["timeout.reconciliation"] = strconv.Itoa(e.timings.poll) + "s"
				data["timeout.reconciliation.jitter"] = strconv.Itoa(e.timings.jitter) + "s"
				_ = unstructured.SetNestedStringMap(o.Object, data, "data")
			}
			gvr := schema.GroupVersionResource{Version: "v1", Resource: strings.ToLower(o.GetKind()) + "s"}
			if err := e.serverSideApply(ctx, gvr, o); err != nil {
				return fmt.Errorf("applying %s: %w", filepath.Base(f), err)
			}
		}
	}
	// Notifications: the catalog of templates and triggers as Argo CD ships
	// it, and an empty secret; services are configured by scenarios.
	catalog, err := readManifests(filepath.Join(argoBin, "notifications_catalog", "install.yaml"))
	if err != nil {
		return err
	}
	for _, o := range catalog {
		o.SetNamespace(Namespace)
		if o.GetName() == "argocd-notifications-cm" {
			_ = unstructured.SetNestedField(o.Object, "argocdUrl: http://"+e.serverAddr, "data", "context")
		}
		if err := e.serverSideApply(ctx, schema.GroupVersionResource{Version: "v1", Resource: strings.ToLower(o.GetKind()) + "s"}, o); err != nil {
			return fmt.Errorf("applying the notifications catalog: %w", err)
		}
	}
	secret := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "argocd-notifications-secret", "namespace": Namespace}, "type": "Opaque"}}
	if err := e.serverSideApply(ctx, schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, secret); err != nil {
		return err
	}
	project := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
		"metadata": map[string]any{"name": "default", "namespace": Namespace},
		"spec": map[string]any{
			"sourceRepos":              []any{"*"},
			"destinations":             []any{map[string]any{"server": "*", "namespace": "*"}},
			"clusterResourceWhitelist": []any{map[string]any{"group": "*", "kind": "*"}},
		},
	}}
	// The CRDs were just created: their REST mapping can lag for a moment.
	return e.procs.WaitFor(ctx, "AppProject default to be accepted", 100*time.Millisecond, func(ctx context.Context) error {
		return e.serverSideApply(ctx, appProjectGVR, project)
	})
}

// installCRDsAndNamespace applies the CRDs a module ships under
// manifests/crds of its bin directory (server-side: they exceed the
// client-side last-applied annotation limit) and creates the component's
// namespace.
func (e *Engine) installCRDsAndNamespace(ctx context.Context, what, bin, namespace string) error {
	crds, err := filepath.Glob(filepath.Join(bin, "manifests", "crds", "*-crd.yaml"))
	if err != nil || len(crds) == 0 {
		return fmt.Errorf("no %s CRDs under %s", what, bin)
	}
	for _, f := range crds {
		objs, err := readManifests(f)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := e.serverSideApply(ctx, crdGVR, o); err != nil {
				return fmt.Errorf("applying %s: %w", filepath.Base(f), err)
			}
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if _, err := e.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

func (e *Engine) serverSideApply(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) error {
	data, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	var ri dynamic.ResourceInterface = e.dyn.Resource(gvr)
	if ns := obj.GetNamespace(); ns != "" {
		ri = e.dyn.Resource(gvr).Namespace(ns)
	}
	force := true
	_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
	return err
}

func readManifests(path string) ([]*unstructured.Unstructured, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseManifests(path, b)
}

// parseManifests splits a multi-document YAML file into objects, naming
// the file and document on error.
func parseManifests(source string, b []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for i, doc := range splitYAML(b) {
		if len(bytes.TrimSpace(doc.text)) == 0 {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc.text, &m); err != nil {
			// The YAML parser counts lines from the document's start; report
			// the line in the whole source.
			line := doc.line
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				n, _ := strconv.Atoi(m[1])
				line = doc.line + n - 1
			}
			return nil, fmt.Errorf("%s:%d: document %d is not valid YAML: %w", source, line, i+1, err)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("%s:%d: document %d has no apiVersion/kind", source, doc.line, i+1)
		}
		out = append(out, u)
	}
	return out, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

type yamlDoc struct {
	text []byte
	line int // 1-based line where the document starts
}

func splitYAML(b []byte) []yamlDoc {
	var docs []yamlDoc
	lines := bytes.SplitAfter(b, []byte("\n"))
	start, cur := 1, []byte{}
	for i, l := range lines {
		if bytes.HasPrefix(l, []byte("---")) && len(bytes.TrimSpace(l[3:])) == 0 {
			docs = append(docs, yamlDoc{text: cur, line: start})
			cur, start = []byte{}, i+2
			continue
		}
		cur = append(cur, l...)
	}
	return append(docs, yamlDoc{text: cur, line: start})
}

// Components lists the Argo CD processes a scenario may kill and restart.
var Components = []string{"argocd-repo-server", "argocd-application-controller", "argocd-server", "argocd-notifications"}

// RestartComponent kills one Argo CD component with SIGKILL (a crash) and
// starts it again with the same flags, then waits until it serves again.
func (e *Engine) RestartComponent(ctx context.Context, name string) error {
	p, err := e.procs.Restart(name)
	if err != nil {
		return err
	}
	var ready func(context.Context) error
	switch name {
	case "argocd-server":
		ready = proc.HTTPOK("http://" + e.serverAddr + "/healthz")
	case "argocd-repo-server":
		ready = proc.TCPOpen(e.repoAddr)
	default:
		return nil
	}
	var g proc.Group
	g.Add(p)
	return g.WaitFor(ctx, name+" serving again", 100*time.Millisecond, ready)
}
