package lane

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/internal/logging"
	"github.com/rehearse/rehearse/internal/timescale"
	"github.com/rehearse/rehearse/reports"
)

// MaxParallel bounds the lanes of one run: each holds a cluster and an
// Argo CD (1.5-4 GB with flow 8's extra clusters).
const MaxParallel = 4

// laneMemory is what one lane may need at its peak: a cluster, Argo CD,
// Argo Rollouts and, for flow 8, three more clusters (3.8 GB measured).
const laneMemory = 4 << 30

// DefaultParallel is how many lanes this machine takes: one per CPU, as
// many as the available memory holds, at most MaxParallel. Measured on 2
// cores: the whole suite takes 15 min on one lane, 8.6 min on two, 7.1 min
// on three and 8.2 on four; flow 1 gains nothing beyond two. Two, not
// three: waits measured against the seed's clock keep a margin.
func DefaultParallel() int {
	n := min(runtime.NumCPU(), MaxParallel)
	if avail, ok := memAvailable(); ok {
		n = min(n, int(avail/laneMemory))
	}
	return max(n, 1)
}

// memAvailable reads MemAvailable from /proc/meminfo (Linux only).
func memAvailable() (uint64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// NewLanes makes the environments scenarios run in. Lanes share what
// belongs to the host rather than to a cluster: the pool of pod addresses
// (loopback addresses are the host's) and the images built from fixtures.
func NewLanes(opts Options, n int) ([]*Lane, error) {
	if n < 1 {
		n = DefaultParallel()
	}
	if n > MaxParallel {
		return nil, fmt.Errorf("%d scenarios at once: at most %d (each runs its own cluster and Argo CD)", n, MaxParallel)
	}
	addresses := &podruntime.AddressPool{}
	images := &imageCache{built: map[string]prebuiltImage{}, log: opts.Log}
	var lanes []*Lane
	for i := range n {
		env, err := New(opts)
		if err != nil {
			return nil, err
		}
		env.addresses, env.images = addresses, images
		if n > 1 {
			env.name = fmt.Sprintf("lane %d", i+1)
			if opts.Log != nil {
				env.opts.Log = laneLogger{lane: env.name, log: opts.Log}
			}
		}
		lanes = append(lanes, env)
	}
	return lanes, nil
}

// laneLogger says which lane a progress line comes from.
type laneLogger struct {
	lane string
	log  logging.Logger
}

func (l laneLogger) Printf(format string, args ...any) { l.log.Printf(l.lane+": "+format, args...) }

// imageCache holds the images built from fixtures, once per run for every
// lane (each lane pushes them to its own registry). Builds of one key run
// once at a time (singleflight); different keys never wait for each other.
type imageCache struct {
	building singleflight.Group
	mu       sync.Mutex
	built    map[string]prebuiltImage
	log      logging.Logger // the run's, not a lane's: an image serves every lane
}

func (c *imageCache) lookup(key string) (prebuiltImage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.built[key]
	return b, ok
}

func (c *imageCache) logf(format string, args ...any) {
	if c.log != nil {
		c.log.Printf(format, args...)
	}
}

// ScanAndClose looks for the run's credentials (every lane's and every
// scenario's) in the lane's component logs, then tears the lane down.
func (l *Lane) ScanAndClose(secrets []Secret) []string {
	var dirs, leaks []string
	if eng := l.Engine(); eng != nil {
		dirs = append(dirs, eng.Dir())
	}
	if c, ok := l.Cluster().(interface{ Dir() string }); ok && l.Cluster() != nil {
		dirs = append(dirs, c.Dir())
	}
	for _, d := range dirs {
		found, err := findSecretsInLogs(d, secrets)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rehearse: scanning logs for credentials:", err)
		}
		leaks = append(leaks, found...)
	}
	if err := l.Close(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "rehearse: tearing down the environment:", err)
	}
	return leaks
}

// RunStats are each lane's start-up times and peak memory, for the
// report, with the run's peak (the sum of the lanes' peaks) and every
// duration the time scale rewrote in any lane.
func RunStats(lanes []*Lane) ([]reports.LaneStats, uint64, []timescale.Rewrite) {
	var stats []reports.LaneStats
	var peak uint64
	var rewrites []timescale.Rewrite
	seen := map[timescale.Rewrite]bool{}
	for i, env := range lanes {
		st := env.Stats()
		// Numbered here: a run of one lane does not name its lane in logs.
		st.Lane = fmt.Sprintf("lane %d", i+1)
		stats = append(stats, st)
		p, _ := env.PeakRSS()
		peak += p
		for _, r := range env.Scale().Rewrites() {
			if !seen[r] {
				seen[r] = true
				rewrites = append(rewrites, r)
			}
		}
	}
	return stats, peak, rewrites
}

// Stats is the environment's start-up times and peak memory (Lane is
// left for the caller, which knows the lanes' order).
func (l *Lane) Stats() reports.LaneStats {
	const mb = 1 << 20
	var st reports.LaneStats
	l.clusterMu.Lock()
	for k, v := range l.timings {
		switch {
		case k == "cluster":
			st.ClusterSeconds = v.Seconds()
		case k == "engine":
			st.ArgoCDSeconds = v.Seconds()
		case strings.HasPrefix(k, "cluster "):
			if st.DestinationClusterSeconds == nil {
				st.DestinationClusterSeconds = map[string]float64{}
			}
			st.DestinationClusterSeconds[strings.TrimPrefix(k, "cluster ")] = v.Seconds()
		}
	}
	l.clusterMu.Unlock()
	if l.engine != nil {
		st.RolloutsSeconds = l.engine.RolloutsStartup().Seconds()
	}
	peak, by := l.PeakRSS()
	st.PeakRSSMB = float64(peak) / mb
	for k, v := range by {
		if st.PeakRSSMBBy == nil {
			st.PeakRSSMBBy = map[string]float64{}
		}
		st.PeakRSSMBBy[k] = float64(v) / mb
	}
	return st
}

// Pool hands a run's lanes to its scenarios, one scenario per lane at a
// time, and tears them all down at the end.
type Pool struct {
	lanes []*Lane
	free  chan *Lane

	warmStop context.CancelFunc
	warmed   chan struct{}
}

// NewPool makes n lanes (NewLanes) and holds them free.
func NewPool(opts Options, n int) (*Pool, error) {
	lanes, err := NewLanes(opts, n)
	if err != nil {
		return nil, err
	}
	p := &Pool{lanes: lanes, free: make(chan *Lane, len(lanes))}
	for _, l := range lanes {
		p.free <- l
	}
	return p, nil
}

// Lanes are the pool's lanes, in order.
func (p *Pool) Lanes() []*Lane { return p.lanes }

// Warm builds the run's fixture images in the background, one after
// another, while the first scenarios start their stacks (Lane.WarmImages).
// StopWarming (Close calls it) cuts a build short and waits for it.
func (p *Pool) Warm(ctx context.Context, images []WarmImage) {
	ctx, p.warmStop = context.WithCancel(ctx)
	p.warmed = make(chan struct{})
	go func() {
		defer close(p.warmed)
		p.lanes[0].WarmImages(ctx, images)
	}()
}

// StopWarming ends the warm-up and waits until its build has removed its
// temporary directory.
func (p *Pool) StopWarming() {
	if p.warmStop != nil {
		p.warmStop()
		<-p.warmed
	}
}

// Take waits for a free lane (at most as many scenarios run at once as
// there are lanes) and starts its stack in the background: the scenario's
// first steps (Git server, registry, images) run meanwhile, and steps that
// need the stack wait for the same start.
func (p *Pool) Take(ctx context.Context) (*Lane, error) {
	select {
	case l := <-p.free:
		go func() { _ = l.Start(ctx) }()
		return l, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a free lane: %w", ctx.Err())
	}
}

// Give returns a lane taken by Take once its scenario has cleaned up.
func (p *Pool) Give(l *Lane) { p.free <- l }

// Teardown is what closing the pool found.
type Teardown struct {
	// Secrets are every lane's credentials and the ones given to Close.
	Secrets []Secret
	// Leaks are "file: credential name" for each credential found in a
	// lane's component logs.
	Leaks []string
	// Problems are fidelity failures the lanes found as they closed.
	Problems []string
}

// Close stops the warm-up, then searches every lane's component logs for
// all the run's credentials (the lanes' and the scenarios' given here:
// one lane's logs must not hold another's) and tears the lanes down side
// by side.
func (p *Pool) Close(scenarioSecrets []Secret) Teardown {
	p.StopWarming()
	t := Teardown{Secrets: slices.Clone(scenarioSecrets)}
	for _, l := range p.lanes {
		t.Secrets = append(t.Secrets, l.Credentials()...)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range p.lanes {
		wg.Go(func() {
			leaks := l.ScanAndClose(t.Secrets)
			mu.Lock()
			defer mu.Unlock()
			t.Leaks = append(t.Leaks, leaks...)
			t.Problems = append(t.Problems, l.Problems()...)
		})
	}
	wg.Wait()
	sort.Strings(t.Leaks)
	return t
}
