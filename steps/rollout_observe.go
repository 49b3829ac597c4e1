package steps

import (
	"context"
	"sync"
	"time"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/reports/evidence"
	"github.com/rehearse/rehearse/reports/sequence"
)

// rolloutRecorder watches the Rollouts of a namespace and turns what changes
// (step, canary pods, phase, abort) into the events of the seed's canary
// and blue-green diagrams, where "ArgoCD" drives the rollout.
type rolloutRecorder struct {
	stop context.CancelFunc
	done chan struct{}

	mu     sync.Mutex
	events []sequence.Event
}

func (w *World) recordRollouts(ns string) {
	e := w.env.Engine()
	if w.rollouts[ns] != nil || e == nil || !e.RolloutsRunning() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rolloutRecorder{stop: cancel, done: make(chan struct{})}
	w.rollouts[ns] = r
	go func() {
		defer close(r.done)
		// The watch delivers each Rollout's versions in order from one
		// goroutine, so last needs no lock.
		last := map[string]*engine.Rollout{}
		err := e.WatchRollouts(ctx, ns, func(now *engine.Rollout) {
			if was := last[now.Name]; was != nil {
				r.compare(time.Now(), was, now)
			}
			last[now.Name] = now
		})
		if err == nil {
			<-ctx.Done()
		}
	}()
}

func (r *rolloutRecorder) compare(t time.Time, was, now *engine.Rollout) {
	if evs := evidence.RolloutChange(t, was, now); len(evs) > 0 {
		r.mu.Lock()
		r.events = append(r.events, evs...)
		r.mu.Unlock()
	}
}

// close stops watching and returns the events seen.
func (r *rolloutRecorder) close() []sequence.Event {
	r.stop()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sequence.Event(nil), r.events...)
}
