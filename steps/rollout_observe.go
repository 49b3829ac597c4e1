package steps

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rehearse/rehearse/engine"
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

func (r *rolloutRecorder) add(t time.Time, from, to, format string, args ...any) {
	r.mu.Lock()
	r.events = append(r.events, sequence.Event{Time: t, From: from, To: to, Message: fmt.Sprintf(format, args...), Observer: "rollout status"})
	r.mu.Unlock()
}

func (r *rolloutRecorder) compare(t time.Time, was, now *engine.Rollout) {
	name := now.Name
	if was.Phase == "" || now.Steps == 0 {
		return // no status yet, or not a canary
	}
	if now.Step != was.Step && now.Step > 0 && now.Step <= len(now.Weights) {
		if wt := now.Weights[now.Step-1]; wt >= 0 {
			first := true
			for _, x := range now.Weights[:now.Step-1] {
				first = first && x < 0
			}
			if first {
				r.add(t, sequence.ArgoCD, sequence.Kubernetes, "Deploy canary of %s (weight: %d%%)", name, wt)
			} else {
				r.add(t, sequence.ArgoCD, sequence.Kubernetes, "Scale canary of %s (weight: %d%%)", name, wt)
			}
		}
	}
	if now.Step == now.Steps && was.Step != now.Steps && !now.Aborted {
		r.add(t, sequence.ArgoCD, sequence.Kubernetes, "Full rollout of %s", name)
	}
	if now.UpdatedReplicas != was.UpdatedReplicas && now.Replicas > 0 && !now.Aborted {
		pct := now.UpdatedReplicas * 100 / now.Replicas
		if now.UpdatedReplicas == now.Replicas && now.Step == now.Steps {
			r.add(t, sequence.Kubernetes, sequence.Kubernetes, "Scale canary to 100%% (%d pods)", now.UpdatedReplicas)
		} else if now.UpdatedReplicas > 0 {
			r.add(t, sequence.Kubernetes, sequence.Kubernetes, "Update weights (%d%% stable, %d%% canary: ready pods)", 100-pct, pct)
		}
	}
	if now.Aborted && !was.Aborted {
		r.add(t, sequence.ArgoCD, sequence.Kubernetes, "Delete canary of %s (rollout aborted)", name)
	}
	if now.Aborted && now.UpdatedReplicas == 0 && was.UpdatedReplicas > 0 {
		r.add(t, sequence.Kubernetes, sequence.Kubernetes, "Route 100%% → stable (canary pods of %s gone)", name)
	}
	if now.Phase != was.Phase {
		switch {
		case now.Phase == "Healthy" && !now.Aborted:
			r.add(t, sequence.ArgoCD, sequence.ArgoCD, "Canary successful: %s Healthy", name)
		case now.Phase == "Degraded" && now.Aborted:
			r.add(t, sequence.ArgoCD, sequence.ArgoCD, "Canary failed, rolled back: %s Degraded", name)
		}
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
