package steps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	messages "github.com/cucumber/messages/go/v34"

	"github.com/rehearse/rehearse/clusters"
)

// registerClustersStep creates flow 8's destination clusters. Its
// definition (promotion_steps.go) uses this pattern, and the run counts the
// scenarios that use it to know when the clusters are no longer needed.
var registerClustersStep = regexp.MustCompile(`^the clusters "([^"]*)", "([^"]*)" and "([^"]*)" are registered with Argo CD$`)

// clusterDemand counts the run's scenarios that register destination
// clusters and have not finished yet. Each lane keeps the clusters it
// created for the next such scenario, since creating three costs about
// 30 s; once none is left, keeping them only costs: a full run spent about
// 3.5 of its 20.5 CPU minutes on flow 8's six idle-or-starting clusters
// (kube-apiserver, etcd and kube-controller-manager each, and Argo CD
// watching them), for 5 of its 55 scenarios (2026-12-02, process
// accounting).
type clusterDemand struct {
	mu      sync.Mutex
	counted bool // the run knew its scenarios beforehand
	left    int
}

func newClusterDemand(scenarios []*messages.Pickle) *clusterDemand {
	d := &clusterDemand{counted: len(scenarios) > 0}
	for _, p := range scenarios {
		if registersClusters(p) {
			d.left++
		}
	}
	return d
}

func registersClusters(p *messages.Pickle) bool {
	for _, st := range p.Steps {
		if registerClustersStep.MatchString(st.Text) {
			return true
		}
	}
	return false
}

// finished records the end of scenario p and reports whether no scenario
// that registers destination clusters is left to run. A run that could not
// count its scenarios (one scenario by file and line) never reports so:
// its lanes keep their clusters to the end.
func (d *clusterDemand) finished(p *messages.Pickle) (noneLeft bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.counted {
		return false
	}
	if registersClusters(p) && d.left > 0 {
		d.left--
	}
	return d.left == 0
}

// releaseDestinationClusters removes the lane's destination clusters from
// Argo CD and stops them. A later scenario that names one gets a new one
// (DestinationCluster creates on first use), so releasing early never
// breaks a scenario, it can only cost it the start-up.
func (e *Environment) releaseDestinationClusters(ctx context.Context) error {
	e.clusterMu.Lock()
	defer e.clusterMu.Unlock()
	if len(e.extraOrder) == 0 {
		return nil
	}
	start := time.Now()
	var errs []error
	stopping := map[string]clusters.Cluster{}
	var kept []string
	for _, name := range e.extraOrder {
		// Argo CD first: a registered cluster that stops answering
		// would leave the application controller retrying it.
		if e.engine != nil {
			if err := e.engine.UnregisterCluster(ctx, name); err != nil {
				errs = append(errs, fmt.Errorf("removing cluster %s from Argo CD: %w", name, err))
				kept = append(kept, name) // still registered: keep it running, Close stops it
				continue
			}
		}
		stopping[name] = e.extra[name]
	}
	errs = append(errs, stopClusters(ctx, stopping))
	for name := range stopping {
		delete(e.extra, name)
	}
	e.extraOrder = kept
	e.timings["destination clusters released"] += time.Since(start)
	e.logf("%d destination cluster(s) released in %s: no scenario left registers them", len(stopping), time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}

// stopClusters deletes clusters side by side: stopping one is waiting for
// its processes to exit, not CPU.
func stopClusters(ctx context.Context, named map[string]clusters.Cluster) error {
	errs := make(chan error, len(named))
	var wg sync.WaitGroup
	for name, c := range named {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Delete(ctx); err != nil {
				errs <- fmt.Errorf("stopping cluster %s: %w", name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}
