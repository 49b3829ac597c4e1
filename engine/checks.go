package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/rehearse/rehearse/internal/await"
)

// The checks here read a Rollout and its pods, or an application's
// resources, for await.Eventually and await.Consistently: each says pass,
// pending or fail with what it saw.

// TagCount is how many ready pods run an image tag.
type TagCount struct {
	Tag   string
	Ready int
}

// RolloutPods lists the pods of a Rollout already read (by its selector).
func (e *Engine) RolloutPods(ctx context.Context, r *Rollout) ([]corev1.Pod, error) {
	pods, err := e.kube.CoreV1().Pods(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(r.Selector).String()})
	if err != nil {
		return nil, fmt.Errorf("pods of rollout %s/%s: %w", r.Namespace, r.Name, err)
	}
	return pods.Items, nil
}

// rolloutWithPods reads a Rollout and its pods.
func (e *Engine) rolloutWithPods(ctx context.Context, ns, name string) (*Rollout, []corev1.Pod, error) {
	r, err := e.Rollout(ctx, ns, name)
	if err != nil {
		return nil, nil, err
	}
	pods, err := e.RolloutPods(ctx, r)
	return r, pods, err
}

// ImageTag is the tag of the pod's first container's image ("latest" when
// it names none).
func ImageTag(p *corev1.Pod) string {
	if len(p.Spec.Containers) == 0 {
		return ""
	}
	img := p.Spec.Containers[0].Image
	if i := strings.LastIndex(img, ":"); i >= 0 && !strings.Contains(img[i:], "/") {
		return img[i+1:]
	}
	return "latest"
}

// ReadyByTag counts ready pods per image tag, and all live pods (pods
// being deleted are neither).
func ReadyByTag(pods []corev1.Pod) (ready map[string]int, live int) {
	ready = map[string]int{}
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		live++
		if PodReady(p) {
			ready[ImageTag(p)]++
		}
	}
	return ready, live
}

// RolloutPhase passes once the Rollout's phase is phase and, when text is
// not empty, its message or a pause reason contains text.
func (e *Engine) RolloutPhase(ns, name, phase, text string) await.Check {
	return func(ctx context.Context) await.Result {
		r, err := e.Rollout(ctx, ns, name)
		if err != nil {
			return await.Waiting("%v", err)
		}
		saw := fmt.Sprintf("phase %s, message %q, pause reasons %v, step %d/%d", r.Phase, r.Message, r.PauseReasons, r.Step, r.Steps)
		if r.Phase == phase && (text == "" || strings.Contains(r.Message+" "+strings.Join(r.PauseReasons, " "), text)) {
			return await.Passed("%s", saw)
		}
		return await.Waiting("%s", saw)
	}
}

// CanaryAtStep passes while a canary Rollout is at step with exactly the
// given ready pods per tag, and fails once it is Degraded. A step can be
// short: the states it passed through are part of what it says.
func (e *Engine) CanaryAtStep(ns, name string, step int, want ...TagCount) await.Check {
	var states []string
	return func(ctx context.Context) await.Result {
		r, pods, err := e.rolloutWithPods(ctx, ns, name)
		if err != nil {
			return await.Waiting("%v", err)
		}
		ready, _ := ReadyByTag(pods)
		saw := fmt.Sprintf("phase %s, step %d/%d, ready pods by tag %v", r.Phase, r.Step, r.Steps, ready)
		if len(states) == 0 || states[len(states)-1] != saw {
			states = append(states, saw)
		}
		if len(states) > 1 {
			saw += " (states seen: " + strings.Join(states, " → ") + ")"
		}
		return judgeCanaryStep(r, ready, step, want, saw)
	}
}

func judgeCanaryStep(r *Rollout, ready map[string]int, step int, want []TagCount, saw string) await.Result {
	if r.Phase == "Degraded" {
		return await.Failed("%s: %s", saw, r.Message)
	}
	if r.Step != step {
		return await.Waiting("%s", saw)
	}
	for _, w := range want {
		if ready[w.Tag] != w.Ready {
			return await.Waiting("%s", saw)
		}
	}
	return await.Passed("%s", saw)
}

// RolloutRunsOnly passes once the Rollout has exactly n live pods, all
// ready and running tag.
func (e *Engine) RolloutRunsOnly(ns, name, tag string, n int) await.Check {
	return func(ctx context.Context) await.Result {
		_, pods, err := e.rolloutWithPods(ctx, ns, name)
		if err != nil {
			return await.Waiting("%v", err)
		}
		ready, live := ReadyByTag(pods)
		if ready[tag] == n && live == n {
			return await.Passed("%d ready pods of %s", n, tag)
		}
		return await.Waiting("%d live pods, ready by tag %v", live, ready)
	}
}

// BlueGreen is what a blue-green Rollout's active and preview ReplicaSets
// should run: Active ready pods of ActiveTag behind the active Service
// and, when Preview is not nil, that many of PreviewTag behind the preview
// Service (nil: no separate preview).
type BlueGreen struct {
	Active     int
	ActiveTag  string
	Preview    *int
	PreviewTag string
}

// BlueGreenSets passes once the blue-green Rollout's active and preview
// ReplicaSets (by status.blueGreen's selectors) run what want says; it
// fails at once on a canary Rollout.
func (e *Engine) BlueGreenSets(ns, name string, want BlueGreen) await.Check {
	return func(ctx context.Context) await.Result {
		r, pods, err := e.rolloutWithPods(ctx, ns, name)
		if err != nil {
			return await.Waiting("%v", err)
		}
		return judgeBlueGreen(r, pods, want)
	}
}

// replicaSetPods describes the live pods of one pod-template hash.
func replicaSetPods(pods []corev1.Pod, hash string) (ready, total int, tags map[string]int) {
	tags = map[string]int{}
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || hash == "" || p.Labels[PodTemplateHashLabel] != hash {
			continue
		}
		total++
		tags[ImageTag(p)]++
		if PodReady(p) {
			ready++
		}
	}
	return ready, total, tags
}

func judgeBlueGreen(r *Rollout, pods []corev1.Pod, want BlueGreen) await.Result {
	if r.ActiveHash == "" && r.Step >= 0 {
		return await.Failed("%s/%s is a canary Rollout (step %d), not a blue-green one", r.Namespace, r.Name, r.Step)
	}
	aReady, aTotal, aTags := replicaSetPods(pods, r.ActiveHash)
	pReady, pTotal, pTags := replicaSetPods(pods, r.PreviewHash)
	saw := fmt.Sprintf("phase %s; active %q: %d pods (%d ready) by tag %v; preview %q: %d pods (%d ready) by tag %v",
		r.Phase, r.ActiveHash, aTotal, aReady, aTags, r.PreviewHash, pTotal, pReady, pTags)
	activeOK := aTotal == want.Active && aReady == want.Active && aTags[want.ActiveTag] == want.Active
	previewOK := r.PreviewHash == "" || r.PreviewHash == r.ActiveHash
	if want.Preview != nil {
		n := *want.Preview
		previewOK = r.PreviewHash != r.ActiveHash && pTotal == n && pReady == n && pTags[want.PreviewTag] == n
	}
	if activeOK && previewOK {
		return await.Passed("%s", saw)
	}
	return await.Waiting("%s", saw)
}

// PodReady says whether the pod's Ready condition is true: it serves.
// (A completed pod is not ready here, unlike in the health diagnosis.)
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// ResourceHealth passes once argocd-server reports the application's
// resource kind/name with that health status and a message containing
// text. Argo CD 3 keeps resource health out of the Application object (in
// the controller's cache); the API server, as the CLI shows it, has it.
func (e *Engine) ResourceHealth(app, kind, name, status, text string) await.Check {
	return func(ctx context.Context) await.Result {
		out, err := e.CLI(ctx, "app", "get", app, "-o", "json")
		if err != nil {
			return await.Waiting("%v", err)
		}
		var a Application
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			return await.Waiting("argocd app get: %v", err)
		}
		return judgeResourceHealth(&a, kind, name, status, text)
	}
}

func judgeResourceHealth(a *Application, kind, name, status, text string) await.Result {
	for _, r := range a.Status.Resources {
		if r.Kind != kind || r.Name != name {
			continue
		}
		if r.Health == nil {
			return await.Waiting("%s/%s has no health", kind, name)
		}
		if r.Health.Status == status && strings.Contains(r.Health.Message, text) {
			return await.Passed("%s: %s", r.Health.Status, r.Health.Message)
		}
		return await.Waiting("%s: %s", r.Health.Status, r.Health.Message)
	}
	return await.Waiting("%s/%s is not among the application's resources", kind, name)
}

// String is the run, its metrics and their measurements, for messages.
func (r AnalysisRun) String() string {
	parts := []string{fmt.Sprintf("%s %s %q", r.Name, r.Phase, r.Message)}
	for _, m := range r.Metrics {
		parts = append(parts, fmt.Sprintf("%s: %s %q (successful %d, failed %d, inconclusive %d, error %d) [%s]",
			m.Name, m.Phase, m.Message, m.Successful, m.Failed, m.Inconclusive, m.Error, strings.Join(m.Measurements, "; ")))
	}
	return strings.Join(parts, "; ")
}

// LatestAnalysisRun passes once the Rollout's newest AnalysisRun of
// runType (Step, Background, PrePromotion, PostPromotion; "" for any) is
// in phase and, when text is not empty, its String contains text. seen
// receives each newest run read, for the report.
func (e *Engine) LatestAnalysisRun(ns, rollout, runType, phase, text string, seen func(AnalysisRun)) await.Check {
	return func(ctx context.Context) await.Result {
		runs, err := e.AnalysisRuns(ctx, ns, rollout)
		if err != nil {
			return await.Waiting("%v", err)
		}
		last, ok := latestRun(runs, runType)
		if !ok {
			return await.Waiting("no %s analysis run yet", strings.TrimSpace(runType+" "))
		}
		if seen != nil {
			seen(last)
		}
		if all := last.String(); last.Phase == phase && (text == "" || strings.Contains(all, text)) {
			return await.Passed("%s", all)
		}
		return await.Waiting("%s", last)
	}
}

// latestRun is the newest of runs (oldest first) of runType ("" any).
func latestRun(runs []AnalysisRun, runType string) (AnalysisRun, bool) {
	for i := len(runs) - 1; i >= 0; i-- {
		if runType == "" || runs[i].Type == runType {
			return runs[i], true
		}
	}
	return AnalysisRun{}, false
}

// DeploymentRunsOnly passes once every replica of the Deployment exists,
// is updated and ready, and each container of its pods runs tag.
func (e *Engine) DeploymentRunsOnly(ns, name, tag string) await.Check {
	return func(ctx context.Context) await.Result {
		d, err := e.kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return await.Waiting("%v", err)
		}
		pods, err := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(d.Spec.Selector.MatchLabels).String()})
		if err != nil {
			return await.Waiting("%v", err)
		}
		var images []string
		other := 0
		for _, p := range pods.Items {
			for _, c := range p.Spec.Containers {
				images = append(images, c.Image)
				if !strings.HasSuffix(c.Image, ":"+tag) {
					other++
				}
			}
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		saw := fmt.Sprintf("pods run %s; ready %d/%d", strings.Join(images, ", "), d.Status.ReadyReplicas, want)
		if other == 0 && len(pods.Items) == int(want) && d.Status.ReadyReplicas == want && d.Status.UpdatedReplicas == want {
			return await.Passed("%s", saw)
		}
		return await.Waiting("%s", saw)
	}
}

// DeploymentAtReplicas passes once the Deployment's spec.replicas is n
// and, with ready, n pods exist and are ready (a drift reverted and
// settled).
func (e *Engine) DeploymentAtReplicas(ns, name string, n int, ready bool) await.Check {
	return func(ctx context.Context) await.Result {
		d, err := e.kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return await.Waiting("%v", err)
		}
		return judgeReplicas(d, n, ready)
	}
}

func judgeReplicas(d *appsv1.Deployment, n int, ready bool) await.Result {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	saw := fmt.Sprintf("spec.replicas=%d ready=%d", want, d.Status.ReadyReplicas)
	if int(want) == n && (!ready || (int(d.Status.ReadyReplicas) == n && int(d.Status.Replicas) == n)) {
		return await.Passed("%s", saw)
	}
	return await.Waiting("%s", saw)
}

// ScaleDeployment sets the Deployment's replicas through its scale
// subresource, as kubectl scale does (field manager kubectl), so that
// Argo CD sees a manual change.
func (e *Engine) ScaleDeployment(ctx context.Context, ns, name string, replicas int) error {
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: int32(replicas)}}
	if _, err := e.kube.AppsV1().Deployments(ns).UpdateScale(ctx, name, scale, metav1.UpdateOptions{FieldManager: "kubectl"}); err != nil {
		return fmt.Errorf("scaling deployment %s/%s to %d: %w", ns, name, replicas, err)
	}
	return nil
}

// LabelledPods lists the live pods (not being deleted) matching a label
// selector.
func (e *Engine) LabelledPods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	pods, err := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("pods labelled %s in %s: %w", selector, ns, err)
	}
	var live []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	return live, nil
}

// LabelledPodsReady passes once exactly n live pods match the selector,
// all ready.
func (e *Engine) LabelledPodsReady(ns, selector string, n int) await.Check {
	return func(ctx context.Context) await.Result {
		pods, err := e.LabelledPods(ctx, ns, selector)
		if err != nil {
			return await.Waiting("%v", err)
		}
		ready := 0
		for i := range pods {
			if PodReady(&pods[i]) {
				ready++
			}
		}
		if ready == n && len(pods) == n {
			return await.Passed("%d/%d ready", ready, len(pods))
		}
		return await.Waiting("%d/%d ready", ready, len(pods))
	}
}

// CheckManages says whether the application's resources (status.resources,
// what Argo CD rendered from its source) are exactly want ("Kind/name"),
// in any order.
func CheckManages(a *Application, want []string) error {
	var got []string
	for _, r := range a.Status.Resources {
		got = append(got, r.Kind+"/"+r.Name)
	}
	slices.Sort(got)
	w := slices.Sorted(slices.Values(want))
	if !slices.Equal(got, w) {
		return fmt.Errorf("application %s manages %v, want %v", a.Name, got, w)
	}
	return nil
}
