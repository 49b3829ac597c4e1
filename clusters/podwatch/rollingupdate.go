package podwatch

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rehearse/rehearse/internal/await"
)

// RollingUpdate follows a Deployment's update to an image tag: Done
// passes once the Deployment runs the tag on every replica, updated and
// ready, and the recording shows each pod of the old template gone; Check
// then judges the update as the recording saw it.
type RollingUpdate struct {
	rec        *Recorder
	kube       kubernetes.Interface
	namespace  string
	deployment string
	tag        string

	image    string
	replicas int
	selector map[string]string
}

// RollingUpdateTo follows the namespace's Deployment, whose pods r
// records, to tag.
func (r *Recorder) RollingUpdateTo(kube kubernetes.Interface, namespace, deployment, tag string) *RollingUpdate {
	return &RollingUpdate{rec: r, kube: kube, namespace: namespace, deployment: deployment, tag: tag}
}

// Done is the check for await.Eventually.
func (u *RollingUpdate) Done(ctx context.Context) await.Result {
	d, err := u.kube.AppsV1().Deployments(u.namespace).Get(ctx, u.deployment, metav1.GetOptions{})
	if err != nil {
		return await.Waiting("%v", err)
	}
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return await.Failed("deployment %s/%s has no container", u.namespace, u.deployment)
	}
	image := d.Spec.Template.Spec.Containers[0].Image
	if !strings.HasSuffix(image, ":"+u.tag) {
		return await.Waiting("template image %s", image)
	}
	replicas, selector := 1, d.Spec.Selector.MatchLabels
	if d.Spec.Replicas != nil {
		replicas = int(*d.Spec.Replicas)
	}
	st := d.Status
	if st.ObservedGeneration < d.Generation || int(st.UpdatedReplicas) != replicas || int(st.ReadyReplicas) != replicas || int(st.Replicas) != replicas {
		return await.Waiting("updated %d, ready %d, total %d of %d", st.UpdatedReplicas, st.ReadyReplicas, st.Replicas, replicas)
	}
	for _, p := range RolloutTo(u.rec.Pods(), image, selector).Old {
		if p.Gone.IsZero() {
			return await.Waiting("old pod %s not gone yet", p.Name)
		}
	}
	// Check judges what was seen done.
	u.image, u.replicas, u.selector = image, replicas, selector
	return await.Passed("%d/%d updated and ready", st.ReadyReplicas, replicas)
}

// Check judges the finished update from the recording: pods of another
// image ran before (something was rolled) and the update kept within the
// Deployment's surge (CheckSurge). It describes the update.
func (u *RollingUpdate) Check() (Rollout, error) {
	if u.image == "" {
		return Rollout{}, fmt.Errorf("the update of deployment %s/%s to %s was not seen done", u.namespace, u.deployment, u.tag)
	}
	ro := RolloutTo(u.rec.Pods(), u.image, u.selector)
	if len(ro.Old) == 0 {
		return ro, fmt.Errorf("no pod ran another image before %s: nothing was rolled", u.tag)
	}
	return ro, ro.CheckSurge(u.replicas)
}
