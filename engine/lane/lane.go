package lane

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
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/internal/binaries"
	"github.com/rehearse/rehearse/internal/logging"
	"github.com/rehearse/rehearse/internal/loopback"
	"github.com/rehearse/rehearse/internal/timescale"
)

// Registry accounts: the CI pushes as jenkins, the nodes pull as kubelet,
// Argo CD pulls Helm charts stored in the registry as argocd. Each gets a
// fresh password per run (RegistryPassword).
const (
	RegistryAdmin  = "harbor-admin"
	RegistryCI     = "jenkins"
	RegistryNodes  = "kubelet"
	RegistryArgoCD = "argocd"
)

// Options choose the backend and engine of a run.
type Options struct {
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

// Lane is what the scenarios that run one after another share: a cluster,
// the engine on it, the registry its nodes pull from and the destination
// clusters it registered. It starts on first use, so a run that fails early (unknown step,
// parse error) costs nothing, and is closed at the end of the run.
type Lane struct {
	opts Options

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
	name              string      // "lane N" when the run has several, for the report
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
func (l *Lane) sampleMemory() {
	l.stopMem = make(chan struct{})
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-l.stopMem:
				return
			case <-t.C:
			}
			by := map[string]uint64{}
			var total uint64
			l.clusterMu.Lock()
			parts := []any{l.cluster, l.engine}
			for _, name := range l.extraOrder {
				parts = append(parts, l.extra[name])
			}
			l.clusterMu.Unlock()
			for _, r := range parts {
				if rr, ok := r.(rssReporter); ok && r != nil {
					for k, v := range rr.RSS() {
						by[k] += v
						total += v
					}
				}
			}
			l.memMu.Lock()
			if total > l.peakRSS {
				l.peakRSS, l.peakBy = total, by
			}
			l.memMu.Unlock()
		}
	}()
}

// PeakRSS is the highest resident memory of the whole stack seen during the
// run, with the per-component split at that moment.
func (l *Lane) PeakRSS() (uint64, map[string]uint64) {
	l.memMu.Lock()
	defer l.memMu.Unlock()
	return l.peakRSS, l.peakBy
}

// New prepares (but does not start) an environment.
func New(opts Options) (*Lane, error) {
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
	return &Lane{opts: opts, timings: map[string]time.Duration{}, scale: scale, mirrors: loopback.NewRewriter(), standIns: &podruntime.StandIns{},
		images: &imageCache{built: map[string]prebuiltImage{}, log: opts.Log}, namespaces: map[string]bool{}, extra: map[string]clusters.Cluster{},
		addresses: &podruntime.AddressPool{}}, nil
}

// InCluster is the name Argo CD gives the cluster it runs in.
const InCluster = "in-cluster"

// DestinationCluster returns the named destination cluster, creating it
// and registering it with Argo CD the first time. InCluster (or "") is the
// cluster Argo CD runs in.
func (l *Lane) DestinationCluster(ctx context.Context, name string) (clusters.Cluster, error) {
	if err := l.Start(ctx); err != nil {
		return nil, err
	}
	if name == "" || name == InCluster {
		return l.cluster, nil
	}
	l.clusterMu.Lock()
	defer l.clusterMu.Unlock()
	if c, ok := l.extra[name]; ok {
		return c, nil
	}
	start := time.Now()
	c, err := l.provider.Create(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("creating cluster %s: %w", name, err)
	}
	if err := l.engine.RegisterCluster(ctx, name, c.RESTConfig()); err != nil {
		_ = c.Delete(context.Background())
		return nil, err
	}
	l.extra[name] = c
	l.extraOrder = append(l.extraOrder, name)
	l.timings["cluster "+name] = time.Since(start)
	l.logf("cluster %s ready and registered in %s", name, time.Since(start).Round(time.Millisecond))
	return c, nil
}

// AdoptNamespaces records namespaces a scenario caused to be created: the
// lane deletes them when it closes.
func (l *Lane) AdoptNamespaces(ns map[string]bool) {
	l.nsMu.Lock()
	defer l.nsMu.Unlock()
	for n := range ns {
		l.namespaces[n] = true
	}
}

// OwnsNamespace says whether a scenario of this lane created ns.
func (l *Lane) OwnsNamespace(ns string) bool {
	l.nsMu.Lock()
	defer l.nsMu.Unlock()
	return l.namespaces[ns]
}

// deleteNamespaces removes what the run created, which matters on a
// cluster that outlives the run (the existing backend).
func (l *Lane) deleteNamespaces(ctx context.Context) {
	if l.engine == nil {
		return
	}
	l.nsMu.Lock()
	defer l.nsMu.Unlock()
	for ns := range l.namespaces {
		if err := l.engine.Kube().CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			l.logf("deleting namespace %s: %v", ns, err)
		}
	}
}

type prebuiltImage struct {
	image v1.Image
	ref   string
}

// StartRegistry starts the run's registry (once): it needs neither the
// cluster nor the engine, so scenarios can fill it while they start.
func (l *Lane) StartRegistry() error {
	l.registryOnce.Do(func() { l.registryErr = l.startRegistry() })
	return l.registryErr
}

// startRegistry starts the run's registry with its offline scanner.
func (l *Lane) startRegistry() error {
	dir, err := os.MkdirTemp("", "rehearse-env-")
	if err != nil {
		return err
	}
	l.workDir = dir
	db := filepath.Join(dir, "vulndb")
	sev, err := fixtures.WriteVulnDB(db)
	if err != nil {
		return err
	}
	severities, err := registry.LoadSeverities(sev)
	if err != nil {
		return err
	}
	l.registryPasswords = map[string]string{}
	for _, u := range []string{RegistryAdmin, RegistryCI, RegistryNodes, RegistryArgoCD} {
		l.registryPasswords[u] = randomPassword(u)
	}
	l.registry, err = registry.Start(RegistryAdmin, l.registryPasswords[RegistryAdmin],
		registry.WithScanner(&registry.Govulncheck{DB: db, Severities: severities}))
	if err != nil {
		return err
	}
	l.registry.AddUser(RegistryCI, l.registryPasswords[RegistryCI])
	l.registry.AddUser(RegistryNodes, l.registryPasswords[RegistryNodes])
	l.registry.AddUser(RegistryArgoCD, l.registryPasswords[RegistryArgoCD])
	return nil
}

// Registry is the run's registry (Start must have succeeded).
func (l *Lane) Registry() *registry.Server { return l.registry }

// RegistryPassword is the run's password of a registry account
// (RegistryAdmin, RegistryCI, RegistryNodes, RegistryArgoCD; StartRegistry must have
// succeeded).
func (l *Lane) RegistryPassword(user string) string { return l.registryPasswords[user] }

// RegistryMirrors is the nodes' mirror table: a registry host a manifest
// names, mapped to the local registry.
func (l *Lane) RegistryMirrors() *loopback.Rewriter { return l.mirrors }

// StandIns are the images the lane's pods run the stand-in program for;
// each scenario resets them.
func (l *Lane) StandIns() *podruntime.StandIns { return l.standIns }

// ProxyTable maps the addresses users' AnalysisTemplates name (the seed's
// Prometheus) to the scenario's local servers, for the Argo Rollouts
// controller's HTTP proxy (Start must have succeeded).
func (l *Lane) ProxyTable() *loopback.Rewriter { return l.proxyTable }

// Name is "lane N" when the run has several lanes, else "".
func (l *Lane) Name() string { return l.name }

// Options are the lane's options, with defaults filled in.
func (l *Lane) Options() Options { return l.opts }

// Problems are fidelity failures found when the lane closed (Argo CD's
// cache refusing a command); they fail the run.
func (l *Lane) Problems() []string { return l.problems }

// DestinationClusters are the destination clusters the lane created, in
// the order it created them, by the name Applications use.
func (l *Lane) DestinationClusters() ([]string, map[string]clusters.Cluster) {
	l.clusterMu.Lock()
	defer l.clusterMu.Unlock()
	named := make(map[string]clusters.Cluster, len(l.extra))
	for k, v := range l.extra {
		named[k] = v
	}
	return append([]string(nil), l.extraOrder...), named
}

// Scale is the run's time scale.
func (l *Lane) Scale() *timescale.Scale { return l.scale }

func (l *Lane) logf(format string, args ...any) {
	if l.opts.Log != nil {
		l.opts.Log.Printf(format, args...)
	}
}

// BackendAvailable asks the run's backend, if it can tell, whether it can
// create clusters on this machine.
func BackendAvailable(ctx context.Context, opts Options) error {
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
func (l *Lane) Start(ctx context.Context) error {
	l.once.Do(func() {
		l.startMu.Lock()
		if l.closed {
			l.startMu.Unlock()
			l.err = errClosed
			return
		}
		ctx, l.startCancel = context.WithCancel(ctx)
		l.startDone = make(chan struct{})
		l.startMu.Unlock()
		defer close(l.startDone)
		l.err = l.start(ctx)
	})
	return l.err
}

// errClosed is what Start says once the environment was closed.
var errClosed = errors.New("the environment is closed: the run has ended")

// stopStarting cancels a start still under way, waits for it to return
// (whatever it had started, it has stopped or left in l.cluster and
// l.engine for Close), and forbids any later start.
func (l *Lane) stopStarting() {
	l.startMu.Lock()
	l.closed = true
	cancel, done := l.startCancel, l.startDone
	l.startMu.Unlock()
	if cancel == nil {
		return
	}
	select {
	case <-done:
	default:
		l.logf("the run ended while the stack was starting: stopping it")
		cancel()
		<-done
	}
	cancel()
}

func (l *Lane) start(ctx context.Context) error {
	cache := l.opts.Cache
	if cache == nil {
		root, err := binaries.DefaultRoot()
		if err != nil {
			return err
		}
		cache = &binaries.Cache{Root: root, Log: l.opts.Log}
	}
	l.cache = cache
	// The stand-in and shell program for containers: built once per
	// machine (about 25 s), before the stack's start is timed.
	helper, err := podruntime.BuildHelper(ctx, cache)
	if err != nil {
		return err
	}
	if err := l.StartRegistry(); err != nil {
		return fmt.Errorf("starting the registry: %w", err)
	}
	provider, err := backends.Open(l.opts.Backend, backends.Config{Cache: cache, Log: l.opts.Log,
		Kubeconfig: l.opts.Kubeconfig, Context: l.opts.Context, NodeImage: l.opts.NodeImage,
		PodRuntime: &podruntime.Options{Mirrors: l.mirrors, StandIns: l.standIns, Helper: helper, Log: l.opts.Log, Addresses: l.addresses,
			Credentials: map[string]podruntime.Credential{l.registry.Host(): {Username: RegistryNodes, Password: l.registryPasswords[RegistryNodes]}}}})
	if err != nil {
		return err
	}
	l.proxyTable = loopback.NewRewriter()
	if l.proxy, err = loopback.StartProxy(l.proxyTable); err != nil {
		return err
	}
	engOpts := []engine.Option{engine.WithVersion(l.opts.ArgoCDVersion), engine.WithCache(cache), engine.WithLogger(l.opts.Log),
		engine.WithTimeScale(l.scale), engine.WithHTTPProxy(l.proxy.URL())}
	engOpts = append(engOpts, l.opts.EngineOptions...)
	if _, err := engine.LineFor(l.opts.ArgoCDVersion); err != nil {
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
	l.provider = provider
	start := time.Now()
	l.cluster, err = provider.Create(ctx, "rehearse")
	if err != nil {
		return fmt.Errorf("creating the %s cluster: %w", orDefault(l.opts.Backend, "kwok"), err)
	}
	l.timings["cluster"] = time.Since(start)
	l.logf("cluster %s ready in %s", l.cluster.Name(), l.timings["cluster"].Round(time.Millisecond))
	start = time.Now()
	l.engine, err = engine.Start(ctx, l.cluster.KubeconfigPath(), engOpts...)
	if err != nil {
		return err
	}
	l.timings["engine"] = time.Since(start)
	l.sampleMemory()
	l.logf("Argo CD %s ready in %s", l.engine.Version(), l.timings["engine"].Round(time.Millisecond))
	return nil
}

// FixtureRecipes are what scenarios' fixtures take from the module proxy
// besides the cluster's and the engine's binaries, for `rehearse prepare`.
func FixtureRecipes() []binaries.Recipe { return []binaries.Recipe{gateway.CRDRecipe()} }

// GatewayAPI installs the Gateway API CRDs in the cluster Argo CD runs in,
// once per run (they are the same for every scenario).
func (l *Lane) GatewayAPI(ctx context.Context) error {
	if err := l.Start(ctx); err != nil {
		return err
	}
	l.gatewayOnce.Do(func() {
		start := time.Now()
		dir, err := l.cache.Ensure(ctx, gateway.CRDRecipe())
		if err == nil {
			err = gateway.InstallCRDs(ctx, l.engine.Dynamic(), dir)
		}
		if err != nil {
			l.gatewayErr = fmt.Errorf("installing the Gateway API %s CRDs: %w", gateway.APIVersion, err)
			return
		}
		l.logf("Gateway API %s CRDs installed in %s", gateway.APIVersion, time.Since(start).Round(time.Millisecond))
	})
	return l.gatewayErr
}

// Engine is the running Argo CD (Start must have succeeded).
func (l *Lane) Engine() *engine.Engine { return l.engine }

// Cluster is the destination cluster (Start must have succeeded).
func (l *Lane) Cluster() clusters.Cluster { return l.cluster }

// Timings are the measured start-up durations ("cluster", "engine").
func (l *Lane) Timings() map[string]time.Duration { return l.timings }

// Close stops the engine and deletes the cluster.
func (l *Lane) Close(ctx context.Context) error {
	l.stopStarting()
	if l.stopMem != nil {
		close(l.stopMem)
		l.stopMem = nil
	}
	l.deleteNamespaces(ctx)
	if l.engine != nil {
		l.engine.Stop()
		// Read after Stop: a command sent while stopping counts too.
		if unserved := l.engine.CacheUnserved(); len(unserved) > 0 {
			l.problems = append(l.problems, fmt.Sprintf("Argo CD sent Redis commands its embedded cache does not serve (it answered them with an error a real Redis would not give): %s", strings.Join(unserved, ", ")))
		}
	}
	l.clusterMu.Lock()
	all := l.extra
	if l.cluster != nil {
		all[InCluster] = l.cluster
	}
	err := stopClusters(ctx, all)
	l.extra, l.extraOrder = map[string]clusters.Cluster{}, nil
	l.clusterMu.Unlock()
	if l.registry != nil {
		_ = l.registry.Close()
	}
	if l.proxy != nil {
		_ = l.proxy.Close()
	}
	if l.workDir != "" {
		_ = os.RemoveAll(l.workDir)
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

// EnsureNamespaceAbsent makes sure a namespace does not exist: one the
// run created (an earlier scenario leaves its namespaces, empty, for
// speed) is deleted and waited for, at most 60 s (Kubernetes waits before
// it starts); one the run did not create is refused, never deleted.
func (l *Lane) EnsureNamespaceAbsent(ctx context.Context, ns string) error {
	if err := l.Start(ctx); err != nil {
		return err
	}
	namespaces := l.engine.Kube().CoreV1().Namespaces()
	got, err := namespaces.Get(ctx, ns, metav1.GetOptions{})
	switch {
	case err == nil && got.DeletionTimestamp == nil:
		if !l.OwnsNamespace(ns) {
			return fmt.Errorf("namespace %s exists and this run did not create it: Rehearse will not delete it", ns)
		}
		if err := namespaces.Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting namespace %s: %w", ns, err)
		}
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	_, err = await.Eventually(ctx, "namespace "+ns+" to be absent", 60*time.Second, func(ctx context.Context) await.Result {
		got, err := namespaces.Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return await.Passed("namespace %s absent", ns)
		}
		if err != nil {
			return await.Waiting("%v", err)
		}
		return await.Waiting("namespace %s is %s", ns, got.Status.Phase)
	})
	return err
}
