package steps

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse/rehearse/clusters"
	"github.com/rehearse/rehearse/clusters/backends"
	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/fixtures"
	"github.com/rehearse/rehearse/fixtures/gateway"
	"github.com/rehearse/rehearse/fixtures/registry"
	"github.com/rehearse/rehearse/internal/binaries"
	"github.com/rehearse/rehearse/internal/logging"
	"github.com/rehearse/rehearse/internal/loopback"
	"github.com/rehearse/rehearse/internal/timescale"
)

// Registry accounts: the CI pushes as jenkins, the nodes pull as kubelet.
const (
	registryAdmin   = "harbor-admin"
	registryCI      = "jenkins"
	registryNodes   = "kubelet"
	registryProject = "qsign-prod"
)

// EnvOptions choose the backend and engine of a run.
type EnvOptions struct {
	Backend       string // kwok (default), kind, existing
	ArgoCDVersion string // default engine.DefaultArgoCDVersion
	Kubeconfig    string // existing backend
	Context       string // existing backend
	NodeImage     string // kind backend: the node image (default kind.DefaultNodeImage)
	// TimeScale compresses the seed's intervals (60: "3 minutes" lasts 3 s).
	// 0 means 1, real time.
	TimeScale float64
	Cache     *binaries.Cache
	Log       logging.Logger
	// EngineOptions come after the environment's own, so they can change
	// the controller's settings (benchmarks, profiling).
	EngineOptions []engine.Option
}

// Environment is what scenarios of one run share: a cluster and the engine
// on it. It starts on first use, so a run that fails early (unknown step,
// parse error) costs nothing, and is closed at the end of the run.
type Environment struct {
	opts EnvOptions

	once sync.Once
	err  error
	// startMu guards the start's cancel and done channel and closed: Close
	// must cancel and wait for a start still under way (a run can end while
	// the stack starts in the background), and no start may begin after.
	startMu     sync.Mutex
	startCancel context.CancelFunc
	startDone   chan struct{}
	closed      bool
	cluster     clusters.Cluster
	engine      *engine.Engine
	timings     map[string]time.Duration
	scale       *timescale.Scale
	cache       *binaries.Cache

	// The Gateway API CRDs, installed on first use.
	gatewayOnce sync.Once
	gatewayErr  error

	// The registry is shared like the cluster (its nodes pull from it);
	// each scenario resets it. mirrors is the nodes' registry mirror table.
	registryOnce      sync.Once
	registryErr       error
	registry          *registry.Server
	mirrors           *loopback.Rewriter
	standIns          *podruntime.StandIns // images run by the stand-in; each scenario resets it
	registryPasswords map[string]string
	workDir           string
	images            *imageCache // built from fixtures, shared by the run's lanes
	lane              string      // "lane N" when the run has several, for the report
	nsMu              sync.Mutex
	namespaces        map[string]bool // created during the run, deleted at its end

	// Destination clusters besides the one Argo CD runs in, by the name
	// Applications use (destination.name), created on first use.
	provider   clusters.Provider
	addresses  *podruntime.AddressPool
	clusterMu  sync.Mutex
	extra      map[string]clusters.Cluster
	extraOrder []string

	// proxyTable maps the addresses users' AnalysisTemplates name (the
	// seed's Prometheus) to the scenario's local servers; proxy serves it
	// to the Argo Rollouts controller as HTTP_PROXY.
	proxyTable *loopback.Rewriter
	proxy      *loopback.Proxy

	// problems are fidelity failures found at Close (Argo CD's cache
	// refusing a command); they fail the run.
	problems []string

	memMu   sync.Mutex
	peakRSS uint64 // highest sum over all stack processes seen by the sampler
	peakBy  map[string]uint64
	stopMem chan struct{}
}

type rssReporter interface{ RSS() map[string]uint64 }

// sampleMemory records the stack's peak resident memory (cluster and engine
// processes together) every half second until Close.
func (e *Environment) sampleMemory() {
	e.stopMem = make(chan struct{})
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-e.stopMem:
				return
			case <-t.C:
			}
			by := map[string]uint64{}
			var total uint64
			e.clusterMu.Lock()
			parts := []any{e.cluster, e.engine}
			for _, name := range e.extraOrder {
				parts = append(parts, e.extra[name])
			}
			e.clusterMu.Unlock()
			for _, r := range parts {
				if rr, ok := r.(rssReporter); ok && r != nil {
					for k, v := range rr.RSS() {
						by[k] += v
						total += v
					}
				}
			}
			e.memMu.Lock()
			if total > e.peakRSS {
				e.peakRSS, e.peakBy = total, by
			}
			e.memMu.Unlock()
		}
	}()
}

// PeakRSS is the highest resident memory of the whole stack seen during the
// run, with the per-component split at that moment.
func (e *Environment) PeakRSS() (uint64, map[string]uint64) {
	e.memMu.Lock()
	defer e.memMu.Unlock()
	return e.peakRSS, e.peakBy
}

// NewEnvironment prepares (but does not start) an environment.
func NewEnvironment(opts EnvOptions) (*Environment, error) {
	if opts.ArgoCDVersion == "" {
		opts.ArgoCDVersion = engine.DefaultArgoCDVersion
	}
	if opts.TimeScale == 0 {
		opts.TimeScale = 1
	}
	scale, err := timescale.New(opts.TimeScale)
	if err != nil {
		return nil, err
	}
	return &Environment{opts: opts, timings: map[string]time.Duration{}, scale: scale, mirrors: loopback.NewRewriter(), standIns: &podruntime.StandIns{},
		images: &imageCache{built: map[string]prebuiltImage{}, log: opts.Log}, namespaces: map[string]bool{}, extra: map[string]clusters.Cluster{},
		addresses: &podruntime.AddressPool{}}, nil
}

// InCluster is the name Argo CD gives the cluster it runs in.
const InCluster = "in-cluster"

// DestinationCluster returns the named destination cluster, creating it
// and registering it with Argo CD the first time. InCluster (or "") is the
// cluster Argo CD runs in.
func (e *Environment) DestinationCluster(ctx context.Context, name string) (clusters.Cluster, error) {
	if err := e.Start(ctx); err != nil {
		return nil, err
	}
	if name == "" || name == InCluster {
		return e.cluster, nil
	}
	e.clusterMu.Lock()
	defer e.clusterMu.Unlock()
	if c, ok := e.extra[name]; ok {
		return c, nil
	}
	start := time.Now()
	c, err := e.provider.Create(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("creating cluster %s: %w", name, err)
	}
	if err := e.engine.RegisterCluster(ctx, name, c.RESTConfig()); err != nil {
		_ = c.Delete(context.Background())
		return nil, err
	}
	e.extra[name] = c
	e.extraOrder = append(e.extraOrder, name)
	e.timings["cluster "+name] = time.Since(start)
	e.logf("cluster %s ready and registered in %s", name, time.Since(start).Round(time.Millisecond))
	return c, nil
}

// adoptNamespaces records namespaces a scenario caused to be created.
func (e *Environment) adoptNamespaces(ns map[string]bool) {
	e.nsMu.Lock()
	defer e.nsMu.Unlock()
	for n := range ns {
		e.namespaces[n] = true
	}
}

func (e *Environment) ownsNamespace(ns string) bool {
	e.nsMu.Lock()
	defer e.nsMu.Unlock()
	return e.namespaces[ns]
}

// deleteNamespaces removes what the run created, which matters on a
// cluster that outlives the run (the existing backend).
func (e *Environment) deleteNamespaces(ctx context.Context) {
	if e.engine == nil {
		return
	}
	e.nsMu.Lock()
	defer e.nsMu.Unlock()
	for ns := range e.namespaces {
		if err := e.engine.Kube().CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			e.logf("deleting namespace %s: %v", ns, err)
		}
	}
}

type prebuiltImage struct {
	image v1.Image
	ref   string
}

// StartRegistry starts the run's registry (once): it needs neither the
// cluster nor the engine, so scenarios can fill it while they start.
func (e *Environment) StartRegistry() error {
	e.registryOnce.Do(func() { e.registryErr = e.startRegistry() })
	return e.registryErr
}

// startRegistry starts the run's registry with its offline scanner.
func (e *Environment) startRegistry() error {
	dir, err := os.MkdirTemp("", "rehearse-env-")
	if err != nil {
		return err
	}
	e.workDir = dir
	db := filepath.Join(dir, "vulndb")
	sev, err := fixtures.WriteVulnDB(db)
	if err != nil {
		return err
	}
	severities, err := registry.LoadSeverities(sev)
	if err != nil {
		return err
	}
	e.registryPasswords = map[string]string{}
	for _, u := range []string{registryAdmin, registryCI, registryNodes} {
		e.registryPasswords[u] = randomPassword(u)
	}
	e.registry, err = registry.Start(registryAdmin, e.registryPasswords[registryAdmin],
		registry.WithScanner(&registry.Govulncheck{DB: db, Severities: severities}))
	if err != nil {
		return err
	}
	e.registry.AddUser(registryCI, e.registryPasswords[registryCI])
	e.registry.AddUser(registryNodes, e.registryPasswords[registryNodes])
	return nil
}

// Registry is the run's registry (Start must have succeeded).
func (e *Environment) Registry() *registry.Server { return e.registry }

// Scale is the run's time scale.
func (e *Environment) Scale() *timescale.Scale { return e.scale }

func (e *Environment) logf(format string, args ...any) {
	if e.opts.Log != nil {
		e.opts.Log.Printf(format, args...)
	}
}

// backendAvailable asks the run's backend, if it can tell, whether it can
// create clusters on this machine.
func backendAvailable(ctx context.Context, opts EnvOptions) error {
	provider, err := backends.Open(opts.Backend, backends.Config{Log: opts.Log, NodeImage: opts.NodeImage,
		Kubeconfig: opts.Kubeconfig, Context: opts.Context})
	if err != nil {
		return err
	}
	if a, ok := provider.(interface{ Available(context.Context) error }); ok {
		return a.Available(ctx)
	}
	return nil
}

// Start brings up the cluster and Argo CD once; later calls return the
// first outcome.
func (e *Environment) Start(ctx context.Context) error {
	e.once.Do(func() {
		e.startMu.Lock()
		if e.closed {
			e.startMu.Unlock()
			e.err = errClosed
			return
		}
		ctx, e.startCancel = context.WithCancel(ctx)
		e.startDone = make(chan struct{})
		e.startMu.Unlock()
		defer close(e.startDone)
		e.err = e.start(ctx)
	})
	return e.err
}

// errClosed is what Start says once the environment was closed.
var errClosed = errors.New("the environment is closed: the run has ended")

// stopStarting cancels a start still under way, waits for it to return
// (whatever it had started, it has stopped or left in e.cluster and
// e.engine for Close), and forbids any later start.
func (e *Environment) stopStarting() {
	e.startMu.Lock()
	e.closed = true
	cancel, done := e.startCancel, e.startDone
	e.startMu.Unlock()
	if cancel == nil {
		return
	}
	select {
	case <-done:
	default:
		e.logf("the run ended while the stack was starting: stopping it")
		cancel()
		<-done
	}
	cancel()
}

func (e *Environment) start(ctx context.Context) error {
	cache := e.opts.Cache
	if cache == nil {
		root, err := binaries.DefaultRoot()
		if err != nil {
			return err
		}
		cache = &binaries.Cache{Root: root, Log: e.opts.Log}
	}
	e.cache = cache
	// The stand-in and shell program for containers: built once per
	// machine (about 25 s), before the stack's start is timed.
	helper, err := podruntime.BuildHelper(ctx, cache)
	if err != nil {
		return err
	}
	if err := e.StartRegistry(); err != nil {
		return fmt.Errorf("starting the registry: %w", err)
	}
	provider, err := backends.Open(e.opts.Backend, backends.Config{Cache: cache, Log: e.opts.Log,
		Kubeconfig: e.opts.Kubeconfig, Context: e.opts.Context, NodeImage: e.opts.NodeImage,
		PodRuntime: &podruntime.Options{Mirrors: e.mirrors, StandIns: e.standIns, Helper: helper, Log: e.opts.Log, Addresses: e.addresses,
			Credentials: map[string]podruntime.Credential{e.registry.Host(): {Username: registryNodes, Password: e.registryPasswords[registryNodes]}}}})
	if err != nil {
		return err
	}
	e.proxyTable = loopback.NewRewriter()
	if e.proxy, err = loopback.StartProxy(e.proxyTable); err != nil {
		return err
	}
	engOpts := []engine.Option{engine.WithVersion(e.opts.ArgoCDVersion), engine.WithCache(cache), engine.WithLogger(e.opts.Log),
		engine.WithTimeScale(e.scale), engine.WithHTTPProxy(e.proxy.URL())}
	engOpts = append(engOpts, e.opts.EngineOptions...)
	if _, err := engine.LineFor(e.opts.ArgoCDVersion); err != nil {
		return err
	}
	// Build everything before timing the start, so figures mean "warm start".
	if p, ok := provider.(interface{ Prepare(context.Context) error }); ok {
		if err := p.Prepare(ctx); err != nil {
			return err
		}
	}
	if err := engine.Prepare(ctx, engOpts...); err != nil {
		return err
	}
	e.provider = provider
	start := time.Now()
	e.cluster, err = provider.Create(ctx, "rehearse")
	if err != nil {
		return fmt.Errorf("creating the %s cluster: %w", orDefault(e.opts.Backend, "kwok"), err)
	}
	e.timings["cluster"] = time.Since(start)
	e.logf("cluster %s ready in %s", e.cluster.Name(), e.timings["cluster"].Round(time.Millisecond))
	start = time.Now()
	e.engine, err = engine.Start(ctx, e.cluster.KubeconfigPath(), engOpts...)
	if err != nil {
		return err
	}
	e.timings["engine"] = time.Since(start)
	e.sampleMemory()
	e.logf("Argo CD %s ready in %s", e.engine.Version(), e.timings["engine"].Round(time.Millisecond))
	return nil
}

// FixtureRecipes are what scenarios' fixtures take from the module proxy
// besides the cluster's and the engine's binaries, for `rehearse prepare`.
func FixtureRecipes() []binaries.Recipe { return []binaries.Recipe{gateway.CRDRecipe()} }

// GatewayAPI installs the Gateway API CRDs in the cluster Argo CD runs in,
// once per run (they are the same for every scenario).
func (e *Environment) GatewayAPI(ctx context.Context) error {
	if err := e.Start(ctx); err != nil {
		return err
	}
	e.gatewayOnce.Do(func() {
		start := time.Now()
		dir, err := e.cache.Ensure(ctx, gateway.CRDRecipe())
		if err == nil {
			err = gateway.InstallCRDs(ctx, e.engine.Dynamic(), dir)
		}
		if err != nil {
			e.gatewayErr = fmt.Errorf("installing the Gateway API %s CRDs: %w", gateway.APIVersion, err)
			return
		}
		e.logf("Gateway API %s CRDs installed in %s", gateway.APIVersion, time.Since(start).Round(time.Millisecond))
	})
	return e.gatewayErr
}

// Engine is the running Argo CD (Start must have succeeded).
func (e *Environment) Engine() *engine.Engine { return e.engine }

// Cluster is the destination cluster (Start must have succeeded).
func (e *Environment) Cluster() clusters.Cluster { return e.cluster }

// Timings are the measured start-up durations ("cluster", "engine").
func (e *Environment) Timings() map[string]time.Duration { return e.timings }

// Close stops the engine and deletes the cluster.
func (e *Environment) Close(ctx context.Context) error {
	e.stopStarting()
	if e.stopMem != nil {
		close(e.stopMem)
		e.stopMem = nil
	}
	e.deleteNamespaces(ctx)
	if e.engine != nil {
		e.engine.Stop()
		// Read after Stop: a command sent while stopping counts too.
		if unserved := e.engine.CacheUnserved(); len(unserved) > 0 {
			e.problems = append(e.problems, fmt.Sprintf("Argo CD sent Redis commands its embedded cache does not serve (it answered them with an error a real Redis would not give): %s", strings.Join(unserved, ", ")))
		}
	}
	e.clusterMu.Lock()
	all := e.extra
	if e.cluster != nil {
		all[InCluster] = e.cluster
	}
	err := stopClusters(ctx, all)
	e.extra, e.extraOrder = map[string]clusters.Cluster{}, nil
	e.clusterMu.Unlock()
	if e.registry != nil {
		_ = e.registry.Close()
	}
	if e.proxy != nil {
		_ = e.proxy.Close()
	}
	if e.workDir != "" {
		_ = os.RemoveAll(e.workDir)
	}
	return err
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// randomPassword is a fresh secret per run: no credential is predictable
// or reused between runs.
func randomPassword(user string) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return user + "-" + hex.EncodeToString(b)
}
