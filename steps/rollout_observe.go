package steps

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rehearse/rehearse/reports/sequence"
)

// rolloutRecorder polls the Rollouts of a namespace and turns what changes
// (step, canary pods, phase, abort) into the events of the seed's canary
// and blue-green diagrams, where "ArgoCD" drives the rollout.
type rolloutRecorder struct {
	stop context.CancelFunc
	done chan struct{}

	mu     sync.Mutex
	events []sequence.Event
}

type rolloutState struct {
	step, steps          int
	phase                string
	aborted              bool
	canaryReady, replica int64
	weights              []int64 // setWeight of each step, -1 for other steps
}

func (w *World) recordRollouts(ns string) {
	if w.rollouts[ns] != nil || w.env.Engine() == nil || !w.env.Engine().RolloutsRunning() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rolloutRecorder{stop: cancel, done: make(chan struct{})}
	w.rollouts[ns] = r
	ri := w.dynamic().Resource(rolloutResource).Namespace(ns)
	go func() {
		defer close(r.done)
		last := map[string]rolloutState{}
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			list, err := ri.List(ctx, metav1.ListOptions{})
			if err == nil {
				for _, u := range list.Items {
					now := rolloutStateOf(&u)
					r.compare(time.Now(), u.GetName(), last[u.GetName()], now)
					last[u.GetName()] = now
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func rolloutStateOf(u *unstructured.Unstructured) rolloutState {
	s := rolloutState{step: -1}
	if v, ok, _ := unstructured.NestedInt64(u.Object, "status", "currentStepIndex"); ok {
		s.step = int(v)
	}
	steps, _, _ := unstructured.NestedSlice(u.Object, "spec", "strategy", "canary", "steps")
	s.steps = len(steps)
	for _, st := range steps {
		w := int64(-1)
		if m, ok := st.(map[string]any); ok {
			if v, ok, _ := unstructured.NestedInt64(m, "setWeight"); ok {
				w = v
			}
		}
		s.weights = append(s.weights, w)
	}
	s.phase, _, _ = unstructured.NestedString(u.Object, "status", "phase")
	s.aborted, _, _ = unstructured.NestedBool(u.Object, "status", "abort")
	s.replica, _, _ = unstructured.NestedInt64(u.Object, "spec", "replicas")
	// The canary's pods: those of the current pod template.
	s.canaryReady, _, _ = unstructured.NestedInt64(u.Object, "status", "updatedReplicas")
	return s
}

func (r *rolloutRecorder) add(t time.Time, from, to, format string, args ...any) {
	r.mu.Lock()
	r.events = append(r.events, sequence.Event{Time: t, From: from, To: to, Message: fmt.Sprintf(format, args...), Observer: "rollout status"})
	r.mu.Unlock()
}

func (r *rolloutRecorder) compare(t time.Time, name string, was, now rolloutState) {
	if was.phase == "" || now.steps == 0 {
		return // first sight, or not a canary
	}
	if now.step != was.step && now.step > 0 && now.step <= len(now.weights) {
		if wt := now.weights[now.step-1]; wt >= 0 {
			first := true
			for _, x := range now.weights[:now.step-1] {
				first = first && x < 0
			}
			if first {
				r.add(t, sequence.ArgoCD, sequence.Kubernetes, "Deploy canary of %s (weight: %d%%)", name, wt)
			} else {
				r.add(t, sequence.ArgoCD, sequence.Kubernetes, "Scale canary of %s (weight: %d%%)", name, wt)
			}
		}
	}
	if now.step == now.steps && was.step != now.steps && !now.aborted {
		r.add(t, sequence.ArgoCD, sequence.Kubernetes, "Full rollout of %s", name)
	}
	if now.canaryReady != was.canaryReady && now.replica > 0 && !now.aborted {
		pct := now.canaryReady * 100 / now.replica
		if now.canaryReady == now.replica && now.step == now.steps {
			r.add(t, sequence.Kubernetes, sequence.Kubernetes, "Scale canary to 100%% (%d pods)", now.canaryReady)
		} else if now.canaryReady > 0 {
			r.add(t, sequence.Kubernetes, sequence.Kubernetes, "Update weights (%d%% stable, %d%% canary: ready pods)", 100-pct, pct)
		}
	}
	if now.aborted && !was.aborted {
		r.add(t, sequence.ArgoCD, sequence.Kubernetes, "Delete canary of %s (rollout aborted)", name)
	}
	if now.aborted && now.canaryReady == 0 && was.canaryReady > 0 {
		r.add(t, sequence.Kubernetes, sequence.Kubernetes, "Route 100%% → stable (canary pods of %s gone)", name)
	}
	if now.phase != was.phase {
		switch {
		case now.phase == "Healthy" && was.phase != "" && !now.aborted:
			r.add(t, sequence.ArgoCD, sequence.ArgoCD, "Canary successful: %s Healthy", name)
		case now.phase == "Degraded" && now.aborted:
			r.add(t, sequence.ArgoCD, sequence.ArgoCD, "Canary failed, rolled back: %s Degraded", name)
		}
	}
}

// close stops polling and returns the events seen.
func (r *rolloutRecorder) close() []sequence.Event {
	r.stop()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sequence.Event(nil), r.events...)
}
