package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Diagnose says why an application is not (yet) Healthy, for a wait that
// ran out: the managed resources Argo CD does not find healthy and, in the
// cluster Argo CD runs in, the pods of their namespaces that are not ready,
// with their containers' waiting or terminated reasons and their latest
// warning events. Empty when there is nothing to say.
func (e *Engine) Diagnose(ctx context.Context, name string) string {
	app, err := e.Application(ctx, name)
	if err != nil {
		return fmt.Sprintf("(no diagnosis: reading Application %s: %v)", name, err)
	}
	var kube kubernetes.Interface
	if d := app.Spec.Destination; d.Name == "in-cluster" || d.Server == "https://kubernetes.default.svc" || (d.Name == "" && d.Server == "") {
		kube = e.kube
	}
	return strings.Join(diagnose(ctx, kube, app), "\n")
}

// maxPods bounds the pods a diagnosis describes: enough to see a pattern.
const maxPods = 6

// diagnose is Diagnose on a given client (nil: resources only, the
// destination is another cluster).
func diagnose(ctx context.Context, kube kubernetes.Interface, app *Application) []string {
	var lines []string
	namespaces := map[string]bool{}
	for _, r := range app.Status.Resources {
		if r.Health == nil || r.Health.Status == "Healthy" {
			continue
		}
		line := fmt.Sprintf("  %s %s/%s: %s", r.Kind, r.Namespace, r.Name, r.Health.Status)
		if r.Health.Message != "" {
			line += ": " + firstLine(r.Health.Message)
		}
		lines = append(lines, line)
		if r.Namespace != "" {
			namespaces[r.Namespace] = true
		}
	}
	if kube != nil {
		if ns := app.Spec.Destination.Namespace; ns != "" && len(namespaces) == 0 && app.Status.Health.Status != "Healthy" {
			namespaces[ns] = true
		}
		described := 0
		for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
			pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				lines = append(lines, fmt.Sprintf("  (listing pods in %s: %v)", ns, err))
				continue
			}
			var events []corev1.Event
			if list, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
				events = list.Items
			}
			for _, p := range pods.Items {
				if podReady(&p) || described == maxPods {
					continue
				}
				described++
				lines = append(lines, describePod(&p, events)...)
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return append([]string{fmt.Sprintf("application %s: %s; not healthy:", app.Name, orDash(app.Status.Health.Status))}, lines...)
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// describePod gives a pod's phase, each container that is not running
// ready with its reason, and the pod's latest warning events.
func describePod(p *corev1.Pod, events []corev1.Event) []string {
	lines := []string{fmt.Sprintf("  pod %s/%s: %s", p.Namespace, p.Name, p.Status.Phase)}
	containers := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
	for _, c := range containers {
		switch {
		case c.State.Waiting != nil:
			lines = append(lines, fmt.Sprintf("    container %s (%s): waiting: %s%s", c.Name, c.Image, c.State.Waiting.Reason, colonMessage(c.State.Waiting.Message)))
			// A crash loop's reason is the last run's end: its exit code and
			// the end of its log.
			if t := c.LastTerminationState.Terminated; t != nil {
				lines = append(lines, fmt.Sprintf("      last run exited %d: %s%s", t.ExitCode, t.Reason, colonMessage(t.Message)))
			}
		case c.State.Terminated != nil && c.State.Terminated.ExitCode != 0:
			lines = append(lines, fmt.Sprintf("    container %s (%s): exited %d: %s%s", c.Name, c.Image, c.State.Terminated.ExitCode, c.State.Terminated.Reason, colonMessage(c.State.Terminated.Message)))
		case c.State.Running != nil && !c.Ready:
			lines = append(lines, fmt.Sprintf("    container %s (%s): running, not ready", c.Name, c.Image))
		}
	}
	var mine []corev1.Event
	for _, ev := range events {
		if ev.InvolvedObject.Kind == "Pod" && ev.InvolvedObject.Name == p.Name && ev.Type == corev1.EventTypeWarning {
			mine = append(mine, ev)
		}
	}
	sort.SliceStable(mine, func(i, j int) bool { return eventTime(mine[i]).Before(eventTime(mine[j])) })
	// The latest three different ones: a back-off repeats the same event.
	var said []string
	for i := len(mine) - 1; i >= 0 && len(said) < 3; i-- {
		if line := fmt.Sprintf("    event %s: %s", mine[i].Reason, firstLine(mine[i].Message)); !slices.Contains(said, line) {
			said = append(said, line)
		}
	}
	slices.Reverse(said)
	return append(lines, said...)
}

func eventTime(ev corev1.Event) time.Time {
	if !ev.LastTimestamp.IsZero() {
		return ev.LastTimestamp.Time
	}
	if !ev.EventTime.IsZero() {
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}

func colonMessage(m string) string {
	if m == "" {
		return ""
	}
	return ": " + firstLine(m)
}
