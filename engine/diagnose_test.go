package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestDiagnoseNamesWhatIsNotHealthyAndWhy(t *testing.T) {
	now := time.Now()
	kube := fake.NewClientset(
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop"},
			Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
				Name: "web", Image: "gcr.io/google-samples/gb-frontend:v5",
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff",
					Message: "registry gcr.io is not mapped to a local registry, so nothing was sent to it\nmore"}}}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-ok", Namespace: "shop"},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "job-1", Namespace: "shop"},
			Status: corev1.PodStatus{Phase: corev1.PodFailed, InitContainerStatuses: []corev1.ContainerStatus{{
				Name: "migrate", Image: "shop/migrate:v1",
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}}}}}},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1", Namespace: "shop"}, Type: corev1.EventTypeWarning, Reason: "Failed",
			Message: "Failed to pull image", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1"}, LastTimestamp: metav1.NewTime(now)},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e0", Namespace: "shop"}, Type: corev1.EventTypeWarning, Reason: "BackOff",
			Message: "Back-off pulling image", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1"}, LastTimestamp: metav1.NewTime(now.Add(-time.Second))},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1-again", Namespace: "shop"}, Type: corev1.EventTypeWarning, Reason: "Failed",
			Message: "Failed to pull image", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1"}, LastTimestamp: metav1.NewTime(now.Add(-2 * time.Second))},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e2", Namespace: "shop"}, Type: corev1.EventTypeNormal, Reason: "Scheduled",
			Message: "assigned", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1"}},
	)
	app := &Application{Name: "shop", Spec: ApplicationSpec{Destination: Destination{Namespace: "shop"}},
		Status: ApplicationStatus{Health: HealthStatus{Status: "Progressing"}, Resources: []ResourceStatus{
			{Kind: "Deployment", Namespace: "shop", Name: "web", Health: &HealthStatus{Status: "Progressing", Message: "Waiting for rollout to finish: 0 of 1 updated replicas are available..."}},
			{Kind: "Service", Namespace: "shop", Name: "web", Health: &HealthStatus{Status: "Healthy"}},
			{Kind: "ConfigMap", Namespace: "shop", Name: "cfg"},
		}}}
	got := strings.Join(diagnose(context.Background(), kube, app), "\n")
	assert.Equal(t, `application shop: Progressing; not healthy:
  Deployment shop/web: Progressing: Waiting for rollout to finish: 0 of 1 updated replicas are available...
  pod shop/job-1: Failed
    container migrate (shop/migrate:v1): exited 3: Error
  pod shop/web-1: Pending
    container web (gcr.io/google-samples/gb-frontend:v5): waiting: ImagePullBackOff: registry gcr.io is not mapped to a local registry, so nothing was sent to it ...
    event BackOff: Back-off pulling image
    event Failed: Failed to pull image`, got)

	// Another cluster: Argo CD's view only.
	assert.Equal(t, []string{"application shop: Progressing; not healthy:",
		"  Deployment shop/web: Progressing: Waiting for rollout to finish: 0 of 1 updated replicas are available..."},
		diagnose(context.Background(), nil, app))

	healthy := &Application{Name: "ok", Status: ApplicationStatus{Health: HealthStatus{Status: "Healthy"}}}
	assert.Empty(t, diagnose(context.Background(), kube, healthy))
}

func TestDiagnoseGivesACrashLoopsLastRun(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "web-1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", Image: "nginx:1.27",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 20s"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
				Message: "stand-in: listen tcp 127.77.0.9:80: bind: address already in use"}}}}}}
	assert.Equal(t, []string{
		"  pod web/web-1: Running",
		"    container nginx (nginx:1.27): waiting: CrashLoopBackOff: back-off 20s",
		"      last run exited 1: Error: stand-in: listen tcp 127.77.0.9:80: bind: address already in use",
	}, describePod(p, nil))
}
