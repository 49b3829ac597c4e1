package podwatch

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/rehearse/rehearse/internal/await"
)

func webDeployment(image string, updated int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: 2},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: updated, ReadyReplicas: 1}}
}

func webPod(name, image string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID(name), Labels: map[string]string{"app": "web"}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
}

func TestRollingUpdateWaitsForTheOldPodsToGoThenJudgesTheSurge(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(webDeployment("app:v1", 1), webPod("old", "app:v1"))
	rec, err := Start(ctx, kube, "shop")
	require.NoError(t, err)
	defer rec.Stop()
	u := rec.RollingUpdateTo(kube, "shop", "web", "v2")

	assert.Equal(t, await.Pending, u.Done(ctx).State, "the template still runs v1")
	_, err = u.Check()
	assert.ErrorContains(t, err, "was not seen done")

	_, err = kube.AppsV1().Deployments("shop").Update(ctx, webDeployment("app:v2", 1), metav1.UpdateOptions{})
	require.NoError(t, err)
	_, err = kube.CoreV1().Pods("shop").Create(ctx, webPod("new", "app:v2"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rec.Pods()) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, await.Pending, u.Done(ctx).State, "the old pod is still there")

	require.NoError(t, kube.CoreV1().Pods("shop").Delete(ctx, "old", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool { return u.Done(ctx).State == await.Pass }, 5*time.Second, 10*time.Millisecond)
	ro, err := u.Check()
	require.NoError(t, err, "the new pod was Ready before the old one went")
	assert.Len(t, ro.Old, 1)
	assert.Len(t, ro.New, 1)
}

func TestRollingUpdateRefusesAFirstDeployment(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(webDeployment("app:v2", 1), webPod("new", "app:v2"))
	rec, err := Start(ctx, kube, "shop")
	require.NoError(t, err)
	defer rec.Stop()
	u := rec.RollingUpdateTo(kube, "shop", "web", "v2")
	require.Eventually(t, func() bool { return u.Done(ctx).State == await.Pass }, 5*time.Second, 10*time.Millisecond)
	_, err = u.Check()
	assert.ErrorContains(t, err, "nothing was rolled")
}
