// Package podwatch records the life of a namespace's pods as they are seen
// (created, Ready, terminating, gone), so a scenario can check the order of
// a rolling update after the fact: each new pod Ready before an old one
// goes, the way the seed's steps 24-29 describe. It records how the
// namespace's Deployments were deleted too (with which finalizers, and
// when they were gone), so a foreground deletion can be told from a
// background one after the fact.
package podwatch

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Pod is what was seen of one pod.
type Pod struct {
	Name   string
	UID    types.UID
	Image  string // of the first container
	Labels map[string]string
	// Times are when Rehearse saw each change (zero: not seen).
	Created, Ready, Terminating, Gone time.Time
	// Waiting is the first container's last waiting reason and message.
	Waiting, WaitingMessage string
	// Leftover pods were already terminating when first seen: they belong
	// to something that ended before the recording began.
	Leftover bool
}

// Recorder watches one namespace.
type Recorder struct {
	factory informers.SharedInformerFactory
	stop    chan struct{}

	mu          sync.Mutex
	pods        map[types.UID]*Pod
	deployments map[types.UID]*Deployment
}

// Deployment is what was seen of one Deployment's deletion.
type Deployment struct {
	Name string
	UID  types.UID
	// Deleting is when it was first seen with a deletionTimestamp, and
	// Finalizers what it carried then ("foregroundDeletion" while the
	// garbage collector deletes its dependents first); Gone when it left
	// the API. Zero: not seen.
	Deleting   time.Time
	Finalizers []string
	Gone       time.Time
}

// Start begins recording; pods that already exist are recorded as seen now.
func Start(ctx context.Context, cs kubernetes.Interface, namespace string) (*Recorder, error) {
	r := &Recorder{pods: map[types.UID]*Pod{}, deployments: map[types.UID]*Deployment{}, stop: make(chan struct{}),
		factory: informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace))}
	inf := r.factory.Core().V1().Pods().Informer()
	dinf := r.factory.Apps().V1().Deployments().Informer()
	if err := record(inf, r.seen); err != nil {
		return nil, err
	}
	if err := record(dinf, r.seenDeployment); err != nil {
		return nil, err
	}
	r.factory.Start(r.stop)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(sctx.Done(), inf.HasSynced, dinf.HasSynced) {
		r.Stop()
		return nil, fmt.Errorf("podwatch: pods of %s did not sync within 30s", namespace)
	}
	return r, nil
}

// record calls seen for every version of inf's objects, gone for the last.
func record(inf cache.SharedIndexInformer, seen func(o any, gone bool)) error {
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { seen(o, false) },
		UpdateFunc: func(_, o any) { seen(o, false) },
		DeleteFunc: func(o any) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			seen(o, true)
		},
	})
	return err
}

// Stop ends recording.
func (r *Recorder) Stop() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
		r.factory.Shutdown()
	}
}

func (r *Recorder) seen(o any, gone bool) {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.pods[p.UID]
	if !ok {
		h = &Pod{Name: p.Name, UID: p.UID, Labels: p.Labels, Created: now, Leftover: p.DeletionTimestamp != nil}
		if len(p.Spec.Containers) > 0 {
			h.Image = p.Spec.Containers[0].Image
		}
		r.pods[p.UID] = h
	}
	if h.Ready.IsZero() && podReady(p) {
		h.Ready = now
	}
	if h.Terminating.IsZero() && p.DeletionTimestamp != nil {
		h.Terminating = now
	}
	if len(p.Status.ContainerStatuses) > 0 {
		if w := p.Status.ContainerStatuses[0].State.Waiting; w != nil {
			h.Waiting, h.WaitingMessage = w.Reason, w.Message
		}
	}
	if gone && h.Gone.IsZero() {
		h.Gone = now
		if h.Terminating.IsZero() {
			h.Terminating = now
		}
	}
}

func (r *Recorder) seenDeployment(o any, gone bool) {
	d, ok := o.(*appsv1.Deployment)
	if !ok {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.deployments[d.UID]
	if !ok {
		h = &Deployment{Name: d.Name, UID: d.UID}
		r.deployments[d.UID] = h
	}
	if h.Deleting.IsZero() && d.DeletionTimestamp != nil {
		h.Deleting, h.Finalizers = now, append([]string(nil), d.Finalizers...)
	}
	if gone && h.Gone.IsZero() {
		h.Gone = now
	}
}

// Deployment returns what was seen of the Deployment's deletion (the
// latest one of that name), or false if none was seen.
func (r *Recorder) Deployment(name string) (Deployment, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out Deployment
	found := false
	for _, d := range r.deployments {
		if d.Name == name && (!found || d.Deleting.After(out.Deleting)) {
			out, found = *d, true
		}
	}
	return out, found
}

// ForegroundDeletion checks that d was deleted in the foreground: it was
// seen deleting with the garbage collector's "foregroundDeletion"
// finalizer, and every one of its pods (by name) was gone before it was.
func ForegroundDeletion(d Deployment, pods []Pod) error {
	switch {
	case d.Deleting.IsZero() || d.Gone.IsZero():
		return fmt.Errorf("deployment %s was not seen deleted (deleting %v, gone %v)", d.Name, !d.Deleting.IsZero(), !d.Gone.IsZero())
	case !slices.Contains(d.Finalizers, metav1.FinalizerDeleteDependents):
		return fmt.Errorf("deployment %s was deleted without the %q finalizer (it had %v): not in the foreground", d.Name, metav1.FinalizerDeleteDependents, d.Finalizers)
	}
	n := 0
	for _, p := range pods {
		hash := p.Labels["pod-template-hash"]
		if hash == "" || !strings.HasPrefix(p.Name, d.Name+"-"+hash+"-") || p.Leftover {
			continue
		}
		n++
		if p.Gone.IsZero() || p.Gone.After(d.Gone) {
			return fmt.Errorf("pod %s was gone %s, after its deployment %s (gone at %s): not in the foreground",
				p.Name, orNotSeen(p.Gone), d.Name, d.Gone.Format("15:04:05.000"))
		}
	}
	if n == 0 {
		return fmt.Errorf("deployment %s had no pods recorded to delete first", d.Name)
	}
	return nil
}

func orNotSeen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return "at " + t.Format("15:04:05.000")
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Pods returns every pod seen, oldest first.
func (r *Recorder) Pods() []Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Pod, 0, len(r.pods))
	for _, p := range r.pods {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// Rollout is what a rolling update to an image did.
type Rollout struct {
	New, Old []Pod
}

// RolloutTo splits the pods seen into those running image and the others
// that were there before the first of them.
func RolloutTo(pods []Pod, image string, selector map[string]string) Rollout {
	var ro Rollout
	var firstNew time.Time
	for _, p := range pods {
		if p.Leftover {
			continue
		}
		if p.Image == image && matches(p.Labels, selector) {
			ro.New = append(ro.New, p)
			if firstNew.IsZero() || p.Created.Before(firstNew) {
				firstNew = p.Created
			}
		}
	}
	for _, p := range pods {
		if !p.Leftover && p.Image != image && matches(p.Labels, selector) && (firstNew.IsZero() || p.Created.Before(firstNew)) {
			ro.Old = append(ro.Old, p)
		}
	}
	return ro
}

func matches(labels, selector map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// CheckSurge verifies a maxUnavailable=0 rolling update: every old pod is
// gone, and whenever an old pod began terminating, at least as many new
// pods were already Ready as old pods had begun terminating.
func (ro Rollout) CheckSurge(want int) error {
	if len(ro.New) < want {
		return fmt.Errorf("%d new pods, want %d; %s", len(ro.New), want, ro)
	}
	readyNew := 0
	for _, p := range ro.New {
		if !p.Ready.IsZero() {
			readyNew++
		}
	}
	if readyNew < want {
		return fmt.Errorf("%d of the new pods became Ready, want %d; %s", readyNew, want, ro)
	}
	old := append([]Pod(nil), ro.Old...)
	sort.Slice(old, func(i, j int) bool { return old[i].Terminating.Before(old[j].Terminating) })
	for i, o := range old {
		if o.Terminating.IsZero() {
			return fmt.Errorf("old pod %s was never terminated; %s", o.Name, ro)
		}
		ready := 0
		for _, n := range ro.New {
			if !n.Ready.IsZero() && !n.Ready.After(o.Terminating) {
				ready++
			}
		}
		if ready < i+1 {
			return fmt.Errorf("old pod %s began terminating when only %d new pods were Ready (%d old pods terminating); %s",
				o.Name, ready, i+1, ro)
		}
	}
	return nil
}

// String is the rollout's timeline, relative to its first event.
func (ro Rollout) String() string {
	var t0 time.Time
	all := append(append([]Pod(nil), ro.Old...), ro.New...)
	for _, p := range all {
		for _, t := range []time.Time{p.Created, p.Ready, p.Terminating} {
			if !t.IsZero() && (t0.IsZero() || t.Before(t0)) {
				t0 = t
			}
		}
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Sub(t0).Round(time.Millisecond).String()
	}
	var b strings.Builder
	b.WriteString("timeline (created/ready/terminating):")
	for _, p := range all {
		fmt.Fprintf(&b, " %s[%s] %s/%s/%s;", p.Name, p.Image[strings.LastIndex(p.Image, ":")+1:], at(p.Created), at(p.Ready), at(p.Terminating))
	}
	return b.String()
}

// Alive counts the pods that existed at t: created, not yet gone
// (terminating pods still hold their resources).
func Alive(pods []Pod, t time.Time) int {
	n := 0
	for _, p := range pods {
		if !p.Leftover && !p.Created.After(t) && (p.Gone.IsZero() || p.Gone.After(t)) {
			n++
		}
	}
	return n
}

// Running counts the pods that were running or starting at t: created, not
// yet terminating (what a strategy keeps up by design, its surge; a
// terminating pod draining still holds resources, which Alive counts).
func Running(pods []Pod, t time.Time) int {
	n := 0
	for _, p := range pods {
		if !p.Leftover && !p.Created.After(t) && (p.Terminating.IsZero() || p.Terminating.After(t)) {
			n++
		}
	}
	return n
}

// PeakRunning is the most pods running or starting at once between from
// and to (see Running).
func PeakRunning(pods []Pod, from, to time.Time) int {
	peak := Running(pods, from)
	for _, p := range pods {
		if !p.Leftover && p.Created.After(from) && !p.Created.After(to) {
			peak = max(peak, Running(pods, p.Created))
		}
	}
	return peak
}

// Peak is the most pods that existed at once between from and to.
func Peak(pods []Pod, from, to time.Time) int {
	peak := Alive(pods, from)
	for _, p := range pods {
		if !p.Leftover && p.Created.After(from) && !p.Created.After(to) {
			if n := Alive(pods, p.Created); n > peak {
				peak = n
			}
		}
	}
	return peak
}
