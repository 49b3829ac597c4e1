package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rehearse/rehearse/internal/loopback"
	"github.com/rehearse/rehearse/internal/proc"
)

// RolloutsNamespace is the Argo Rollouts controller's own namespace, where
// it reads argo-rollouts-config.
const RolloutsNamespace = "argo-rollouts"

// RolloutsComponent is the process name of the Argo Rollouts controller.
const RolloutsComponent = "argo-rollouts"

// WithHTTPProxy gives the Argo Rollouts controller an HTTP proxy (a
// loopback.Proxy), through which its metric providers reach the addresses
// written in users' AnalysisTemplates.
func WithHTTPProxy(url string) Option { return func(s *Settings) { s.HTTPProxy = url } }

// StartRollouts installs the Argo Rollouts CRDs and starts its controller
// against the engine's cluster, once; later calls return at once. Argo CD
// does not need it, so environments that never run a Rollout never pay
// for it (its CRDs alone cost the API server a few hundred MB).
func (e *Engine) StartRollouts(ctx context.Context) error {
	e.rolloutsMu.Lock()
	defer e.rolloutsMu.Unlock()
	if e.rolloutsStarted {
		return nil
	}
	start := time.Now()
	r := RolloutsRecipe(DefaultRolloutsVersion)
	bin, err := e.settings.Cache.Ensure(ctx, r)
	if err != nil {
		return err
	}
	if err := e.installCRDsAndNamespace(ctx, "Argo Rollouts", bin, RolloutsNamespace); err != nil {
		return err
	}
	var healthz, metrics int
	if healthz, err = loopback.FreePort(); err != nil {
		return err
	}
	if metrics, err = loopback.FreePort(); err != nil {
		return err
	}
	env := []string{"KUBECONFIG=" + e.kubeconfig, "POD_NAMESPACE=" + RolloutsNamespace, "HOME=" + filepath.Join(e.dir, "home")}
	if e.settings.HTTPProxy != "" {
		// Loopback destinations (the API server) are never proxied.
		env = append(env, "HTTP_PROXY="+e.settings.HTTPProxy, "HTTPS_PROXY="+e.settings.HTTPProxy, "NO_PROXY=")
	}
	// Its healthz and metrics ports cannot be bound to 127.0.0.1 by flag:
	// it runs in the engine's network namespace where there is one, its
	// ports exposed on 127.0.0.1.
	spec := proc.Spec{Name: RolloutsComponent, Path: filepath.Join(bin, "rollouts-controller"),
		LogDir: filepath.Join(e.dir, "logs"), Dir: e.dir, Env: env,
		Args: []string{"--kubeconfig", e.kubeconfig, "--leader-elect=false", "--logformat", "json", "--loglevel", "info",
			"--healthzPort", strconv.Itoa(healthz), "--metricsPort", strconv.Itoa(metrics), "--qps", "100", "--burst", "200"}}
	if e.isolation != nil {
		for _, p := range []int{healthz, metrics} {
			if err := e.isolation.Expose(p); err != nil {
				return err
			}
		}
		spec.Namespace = e.isolation
	}
	if _, err := e.procs.Start(spec); err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, e.settings.StartTimeout)
	defer cancel()
	if err := e.procs.WaitFor(wait, "argo-rollouts /healthz", 100*time.Millisecond,
		proc.HTTPOK("http://127.0.0.1:"+strconv.Itoa(healthz)+"/healthz")); err != nil {
		return err
	}
	e.rolloutsStarted, e.rolloutsStartup = true, time.Since(start)
	e.logf("Argo Rollouts %s started in %s", DefaultRolloutsVersion, e.rolloutsStartup.Round(time.Millisecond))
	return nil
}

// RolloutsStartup is how long StartRollouts took to bring the controller
// up (its first build excluded only when the binary was cached), or 0 if
// it was never started.
func (e *Engine) RolloutsStartup() time.Duration {
	e.rolloutsMu.Lock()
	defer e.rolloutsMu.Unlock()
	return e.rolloutsStartup
}

// RolloutsRunning reports whether StartRollouts has started the controller.
func (e *Engine) RolloutsRunning() bool {
	e.rolloutsMu.Lock()
	defer e.rolloutsMu.Unlock()
	return e.rolloutsStarted
}

var (
	rolloutGVR     = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}
	analysisRunGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysisruns"}
)

// Rollout is what the Argo Rollouts controller reports for one Rollout.
type Rollout struct {
	Name, Namespace string
	Phase, Message  string // Healthy, Progressing, Paused, Degraded
	// Step is status.currentStepIndex (canary), -1 when absent; Steps is
	// how many canary steps the spec has, and Weights their setWeight
	// (-1 for steps of another kind).
	Step         int
	Steps        int
	Weights      []int
	Aborted      bool
	PauseReasons []string // status.pauseConditions[].reason
	// Replicas is spec.replicas; UpdatedReplicas the pods of the current
	// template (the canary, during a canary update).
	Replicas, UpdatedReplicas int
	// Selector is spec.selector.matchLabels.
	Selector map[string]string
	// ActiveHash and PreviewHash are a blue-green Rollout's
	// status.blueGreen.activeSelector and previewSelector: the
	// rollouts-pod-template-hash of the pods its active and preview
	// Services send to ("" when it has none).
	ActiveHash, PreviewHash string
}

// PodTemplateHashLabel is the label Argo Rollouts puts on a ReplicaSet's
// pods, which its Services select by.
const PodTemplateHashLabel = "rollouts-pod-template-hash"

// Rollout reads a Rollout's status.
func (e *Engine) Rollout(ctx context.Context, namespace, name string) (*Rollout, error) {
	u, err := e.dyn.Resource(rolloutGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("rollout %s/%s: %w", namespace, name, err)
	}
	return rolloutFrom(u), nil
}

// Rollouts reads every Rollout of a namespace.
func (e *Engine) Rollouts(ctx context.Context, namespace string) ([]*Rollout, error) {
	list, err := e.dyn.Resource(rolloutGVR).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("rollouts in %s: %w", namespace, err)
	}
	out := make([]*Rollout, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, rolloutFrom(&list.Items[i]))
	}
	return out, nil
}

// WatchRollouts delivers every version of the namespace's Rollouts to seen
// (from one goroutine, in order) until ctx ends; it returns once the
// existing ones have been delivered.
func (e *Engine) WatchRollouts(ctx context.Context, namespace string, seen func(*Rollout)) error {
	return e.watch(ctx, rolloutGVR, namespace, "Rollouts", func(u *unstructured.Unstructured) {
		seen(rolloutFrom(u))
	})
}

func rolloutFrom(u *unstructured.Unstructured) *Rollout {
	r := &Rollout{Name: u.GetName(), Namespace: u.GetNamespace(), Step: -1}
	r.Phase, _, _ = unstructured.NestedString(u.Object, "status", "phase")
	r.Message, _, _ = unstructured.NestedString(u.Object, "status", "message")
	if v, ok, _ := unstructured.NestedInt64(u.Object, "status", "currentStepIndex"); ok {
		r.Step = int(v)
	}
	steps, _, _ := unstructured.NestedSlice(u.Object, "spec", "strategy", "canary", "steps")
	r.Steps = len(steps)
	for _, st := range steps {
		w := int64(-1)
		if m, ok := st.(map[string]any); ok {
			if v, ok, _ := unstructured.NestedInt64(m, "setWeight"); ok {
				w = v
			}
		}
		r.Weights = append(r.Weights, int(w))
	}
	r.Aborted, _, _ = unstructured.NestedBool(u.Object, "status", "abort")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok {
			reason, _ := m["reason"].(string)
			r.PauseReasons = append(r.PauseReasons, reason)
		}
	}
	replicas, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	updated, _, _ := unstructured.NestedInt64(u.Object, "status", "updatedReplicas")
	r.Replicas, r.UpdatedReplicas = int(replicas), int(updated)
	r.Selector, _, _ = unstructured.NestedStringMap(u.Object, "spec", "selector", "matchLabels")
	r.ActiveHash, _, _ = unstructured.NestedString(u.Object, "status", "blueGreen", "activeSelector")
	r.PreviewHash, _, _ = unstructured.NestedString(u.Object, "status", "blueGreen", "previewSelector")
	return r
}

// PromoteRollout does what `kubectl argo rollouts promote` (no flags)
// does, read from the plugin: spec.paused is cleared; pause conditions are
// cleared; a canary paused by an inconclusive step analysis also leaves
// the controller pause and moves to the next step, and a canary promoted in
// the middle of an analysis or experiment step skips that step.
func (e *Engine) PromoteRollout(ctx context.Context, namespace, name string) error {
	ri := e.dyn.Resource(rolloutGVR).Namespace(namespace)
	u, err := ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("promoting rollout %s/%s: %w", namespace, name, err)
	}
	paused, _, _ := unstructured.NestedBool(u.Object, "spec", "paused")
	steps, isCanary, _ := unstructured.NestedSlice(u.Object, "spec", "strategy", "canary", "steps")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
	controllerPause, _, _ := unstructured.NestedBool(u.Object, "status", "controllerPause")
	analysis, _, _ := unstructured.NestedString(u.Object, "status", "canary", "currentStepAnalysisRunStatus", "status")
	index, hasIndex, _ := unstructured.NestedInt64(u.Object, "status", "currentStepIndex")
	if !hasIndex {
		index = 0
	}
	next := index
	if next < int64(len(steps)) {
		next++
	}
	var status string
	switch {
	case isCanary && analysis == "Inconclusive" && len(conds) > 0 && controllerPause:
		status = fmt.Sprintf(`{"status":{"pauseConditions":null,"controllerPause":false,"currentStepIndex":%d}}`, next)
	case len(conds) > 0:
		status = `{"status":{"pauseConditions":null}}`
	case isCanary && len(steps) > 0:
		status = fmt.Sprintf(`{"status":{"pauseConditions":null,"currentStepIndex":%d}}`, next)
	}
	if status != "" {
		if _, err := ri.Patch(ctx, name, types.MergePatchType, []byte(status), metav1.PatchOptions{}, "status"); err != nil {
			return fmt.Errorf("promoting rollout %s/%s: %w", namespace, name, err)
		}
	}
	if paused {
		if _, err := ri.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"paused":false}}`), metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("promoting rollout %s/%s: %w", namespace, name, err)
		}
	}
	return nil
}

// AnalysisRun is one run of an AnalysisTemplate and its measurements.
type AnalysisRun struct {
	Name, Phase, Message string
	// Type is how the Rollout created it (its rollout-type label):
	// Step, Background, PrePromotion or PostPromotion.
	Type    string
	Created time.Time
	Metrics []MetricResult
}

// MetricResult is one metric of an AnalysisRun.
type MetricResult struct {
	Name, Phase, Message                           string
	Successful, Failed, Inconclusive, Error, Count int64
	// Measurements are "phase value message" per measurement, in order.
	Measurements []string
}

// AnalysisRuns lists the AnalysisRuns owned by a Rollout, oldest first.
func (e *Engine) AnalysisRuns(ctx context.Context, namespace, rollout string) ([]AnalysisRun, error) {
	list, err := e.dyn.Resource(analysisRunGVR).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("analysis runs in %s: %w", namespace, err)
	}
	var out []AnalysisRun
	for _, u := range list.Items {
		owned := false
		for _, o := range u.GetOwnerReferences() {
			owned = owned || (o.Kind == "Rollout" && o.Name == rollout)
		}
		if !owned {
			continue
		}
		run := AnalysisRun{Name: u.GetName(), Created: u.GetCreationTimestamp().Time, Type: u.GetLabels()["rollout-type"]}
		run.Phase, _, _ = unstructured.NestedString(u.Object, "status", "phase")
		run.Message, _, _ = unstructured.NestedString(u.Object, "status", "message")
		results, _, _ := unstructured.NestedSlice(u.Object, "status", "metricResults")
		for _, r := range results {
			m, ok := r.(map[string]any)
			if !ok {
				continue
			}
			mr := MetricResult{}
			mr.Name, _ = m["name"].(string)
			mr.Phase, _ = m["phase"].(string)
			mr.Message, _ = m["message"].(string)
			mr.Successful, _, _ = unstructured.NestedInt64(m, "successful")
			mr.Failed, _, _ = unstructured.NestedInt64(m, "failed")
			mr.Inconclusive, _, _ = unstructured.NestedInt64(m, "inconclusive")
			mr.Error, _, _ = unstructured.NestedInt64(m, "error")
			mr.Count, _, _ = unstructured.NestedInt64(m, "count")
			ms, _, _ := unstructured.NestedSlice(m, "measurements")
			for _, x := range ms {
				if mm, ok := x.(map[string]any); ok {
					mr.Measurements = append(mr.Measurements, strings.TrimSpace(fmt.Sprintf("%v %v %v", mm["phase"], orEmpty(mm["value"]), orEmpty(mm["message"]))))
				}
			}
			run.Metrics = append(run.Metrics, mr)
		}
		out = append(out, run)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// AbortRollout does what `kubectl argo rollouts abort` does: it sets
// status.abort, and the controller sends the traffic back to stable and
// scales the canary or preview down.
func (e *Engine) AbortRollout(ctx context.Context, namespace, name string) error {
	if _, err := e.dyn.Resource(rolloutGVR).Namespace(namespace).Patch(ctx, name, types.MergePatchType,
		[]byte(`{"status":{"abort":true}}`), metav1.PatchOptions{}, "status"); err != nil {
		return fmt.Errorf("aborting rollout %s/%s: %w", namespace, name, err)
	}
	return nil
}
