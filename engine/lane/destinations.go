package lane

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rehearse/rehearse/clusters"
)

// ReleaseDestinationClusters removes the lane's destination clusters from
// Argo CD and stops them. A later scenario that names one gets a new one
// (DestinationCluster creates on first use), so releasing early never
// breaks a scenario, it can only cost it the start-up.
func (l *Lane) ReleaseDestinationClusters(ctx context.Context) error {
	l.clusterMu.Lock()
	defer l.clusterMu.Unlock()
	if len(l.extraOrder) == 0 {
		return nil
	}
	start := time.Now()
	var errs []error
	stopping := map[string]clusters.Cluster{}
	var kept []string
	for _, name := range l.extraOrder {
		// Argo CD first: a registered cluster that stops answering
		// would leave the application controller retrying it.
		if l.engine != nil {
			if err := l.engine.UnregisterCluster(ctx, name); err != nil {
				errs = append(errs, fmt.Errorf("removing cluster %s from Argo CD: %w", name, err))
				kept = append(kept, name) // still registered: keep it running, Close stops it
				continue
			}
		}
		stopping[name] = l.extra[name]
	}
	errs = append(errs, stopClusters(ctx, stopping))
	for name := range stopping {
		delete(l.extra, name)
	}
	l.extraOrder = kept
	l.timings["destination clusters released"] += time.Since(start)
	l.logf("%d destination cluster(s) released in %s: no scenario left registers them", len(stopping), time.Since(start).Round(time.Millisecond))
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
