package steps

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rehearse/rehearse/clusters"
	"github.com/rehearse/rehearse/clusters/backends"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/internal/binaries"
	"github.com/rehearse/rehearse/internal/timescale"
)

// Logger receives progress lines.
type Logger interface {
	Printf(format string, args ...any)
}

// EnvOptions choose the backend and engine of a run.
type EnvOptions struct {
	Backend       string // kwok (default), kind, existing
	ArgoCDVersion string // default engine.DefaultArgoCDVersion
	Kubeconfig    string // existing backend
	Context       string // existing backend
	// TimeScale compresses the seed's intervals (60: "3 minutes" lasts 3 s).
	// 0 means 1, real time.
	TimeScale float64
	Cache     *binaries.Cache
	Log       Logger
}

// Environment is what scenarios of one run share: a cluster and the engine
// on it. It starts on first use, so a run that fails early (unknown step,
// parse error) costs nothing, and is closed at the end of the run.
type Environment struct {
	opts EnvOptions

	once    sync.Once
	err     error
	cluster clusters.Cluster
	engine  *engine.Engine
	timings map[string]time.Duration
	scale   *timescale.Scale

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
			for _, r := range []any{e.cluster, e.engine} {
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
	return &Environment{opts: opts, timings: map[string]time.Duration{}, scale: scale}, nil
}

// Scale is the run's time scale.
func (e *Environment) Scale() *timescale.Scale { return e.scale }

func (e *Environment) logf(format string, args ...any) {
	if e.opts.Log != nil {
		e.opts.Log.Printf(format, args...)
	}
}

// Start brings up the cluster and Argo CD once; later calls return the
// first outcome.
func (e *Environment) Start(ctx context.Context) error {
	e.once.Do(func() { e.err = e.start(ctx) })
	return e.err
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
	provider, err := backends.Open(e.opts.Backend, backends.Config{Cache: cache, Log: e.opts.Log,
		Kubeconfig: e.opts.Kubeconfig, Context: e.opts.Context})
	if err != nil {
		return err
	}
	engOpts := []engine.Option{engine.WithVersion(e.opts.ArgoCDVersion), engine.WithCache(cache), engine.WithLogger(e.opts.Log),
		engine.WithTimeScale(e.scale)}
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

// Engine is the running Argo CD (Start must have succeeded).
func (e *Environment) Engine() *engine.Engine { return e.engine }

// Cluster is the destination cluster (Start must have succeeded).
func (e *Environment) Cluster() clusters.Cluster { return e.cluster }

// Timings are the measured start-up durations ("cluster", "engine").
func (e *Environment) Timings() map[string]time.Duration { return e.timings }

// Close stops the engine and deletes the cluster.
func (e *Environment) Close(ctx context.Context) error {
	if e.stopMem != nil {
		close(e.stopMem)
		e.stopMem = nil
	}
	if e.engine != nil {
		e.engine.Stop()
	}
	if e.cluster != nil {
		return e.cluster.Delete(ctx)
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
