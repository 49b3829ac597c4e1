package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse/rehearse/internal/await"
)

func pod(name, image, hash string, ready, deleting bool) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{PodTemplateHashLabel: hash}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: image}}}}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	if deleting {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	return p
}

func TestReadyByTagCountsLivePodsByTheirImageTag(t *testing.T) {
	pods := []corev1.Pod{
		pod("a", "registry.local:5000/team/app:v1", "h1", true, false),
		pod("b", "registry.local:5000/team/app:v2", "h2", true, false),
		pod("c", "registry.local:5000/team/app:v2", "h2", false, false),
		pod("d", "registry.local:5000/team/app", "h3", true, false),
		pod("e", "registry.local:5000/team/app:v1", "h1", true, true),
	}
	ready, live := ReadyByTag(pods)
	assert.Equal(t, map[string]int{"v1": 1, "v2": 1, "latest": 1}, ready, "a registry port is not a tag; a pod being deleted is not counted")
	assert.Equal(t, 4, live)
}

func TestCanaryStepNeedsTheStepAndEveryTagsCount(t *testing.T) {
	r := &Rollout{Phase: "Paused", Step: 1}
	want := []TagCount{{"v1", 4}, {"v2", 1}}
	assert.Equal(t, await.Pass, judgeCanaryStep(r, map[string]int{"v1": 4, "v2": 1}, 1, want, "").State)
	assert.Equal(t, await.Pending, judgeCanaryStep(r, map[string]int{"v1": 5}, 1, want, "").State, "the canary pod is not ready yet")
	assert.Equal(t, await.Pending, judgeCanaryStep(r, map[string]int{"v1": 4, "v2": 1}, 2, want, "").State, "another step")
	assert.Equal(t, await.Fail, judgeCanaryStep(&Rollout{Phase: "Degraded", Step: 1}, map[string]int{"v1": 4, "v2": 1}, 1, want, "").State,
		"a degraded rollout will not get there")
}

func TestBlueGreenSetsTellsActiveFromPreview(t *testing.T) {
	two := 2
	r := &Rollout{Namespace: "shop", Name: "web", Phase: "Paused", Step: -1, ActiveHash: "blue", PreviewHash: "green"}
	pods := []corev1.Pod{
		pod("b1", "app:v1", "blue", true, false), pod("b2", "app:v1", "blue", true, false),
		pod("g1", "app:v2", "green", true, false), pod("g2", "app:v2", "green", true, false),
	}
	assert.Equal(t, await.Pass, judgeBlueGreen(r, pods, BlueGreen{Active: 2, ActiveTag: "v1", Preview: &two, PreviewTag: "v2"}).State)
	assert.Equal(t, await.Pending, judgeBlueGreen(r, pods, BlueGreen{Active: 2, ActiveTag: "v2", Preview: &two, PreviewTag: "v1"}).State,
		"active and preview swapped")
	assert.Equal(t, await.Pending, judgeBlueGreen(r, pods, BlueGreen{Active: 2, ActiveTag: "v1"}).State,
		"a preview is still up where none is expected")

	promoted := &Rollout{Namespace: "shop", Name: "web", Phase: "Healthy", Step: -1, ActiveHash: "green", PreviewHash: "green"}
	assert.Equal(t, await.Pass, judgeBlueGreen(promoted, pods[2:], BlueGreen{Active: 2, ActiveTag: "v2"}).State)
	notReady := []corev1.Pod{pods[2], pod("g2", "app:v2", "green", false, false)}
	assert.Equal(t, await.Pending, judgeBlueGreen(promoted, notReady, BlueGreen{Active: 2, ActiveTag: "v2"}).State)

	canary := &Rollout{Namespace: "shop", Name: "web", Phase: "Healthy", Step: 3}
	assert.Equal(t, await.Fail, judgeBlueGreen(canary, pods, BlueGreen{Active: 2, ActiveTag: "v1"}).State)
}

func TestResourceHealthFindsTheResourceByKindAndName(t *testing.T) {
	var a Application
	a.Status.Resources = []ResourceStatus{
		{Kind: "Service", Name: "web"},
		{Kind: "Deployment", Name: "web", Health: &HealthStatus{Status: "Degraded", Message: "Deployment \"web\" exceeded its progress deadline"}},
		{Kind: "Job", Name: "migrate"},
	}
	assert.Equal(t, await.Pass, judgeResourceHealth(&a, "Deployment", "web", "Degraded", "progress deadline").State)
	assert.Equal(t, await.Pending, judgeResourceHealth(&a, "Deployment", "web", "Healthy", "").State)
	assert.Equal(t, await.Pending, judgeResourceHealth(&a, "Deployment", "web", "Degraded", "ImagePullBackOff").State, "the message must say it")
	assert.Equal(t, await.Pending, judgeResourceHealth(&a, "Service", "web", "Healthy", "").State, "no health reported yet")
	assert.Equal(t, await.Pending, judgeResourceHealth(&a, "Deployment", "api", "Degraded", "").State)
}

func TestLatestRunIsTheNewestOfItsType(t *testing.T) {
	runs := []AnalysisRun{{Name: "a", Type: "PrePromotion"}, {Name: "b", Type: "Step"}, {Name: "c", Type: "PrePromotion"}, {Name: "d", Type: "PostPromotion"}}
	for runType, want := range map[string]string{"": "d", "PrePromotion": "c", "Step": "b", "PostPromotion": "d"} {
		got, ok := latestRun(runs, runType)
		assert.True(t, ok)
		assert.Equal(t, want, got.Name, runType)
	}
	_, ok := latestRun(runs, "Background")
	assert.False(t, ok)
	r := AnalysisRun{Name: "r", Phase: "Failed", Message: "metric failed", Metrics: []MetricResult{{Name: "job", Phase: "Failed", Failed: 1, Measurements: []string{"Failed  exit 1"}}}}
	assert.Equal(t, `r Failed "metric failed"; job: Failed "" (successful 0, failed 1, inconclusive 0, error 0) [Failed  exit 1]`, r.String())
}

func TestCheckManagesComparesKindAndName(t *testing.T) {
	var a Application
	a.Name = "shop"
	a.Status.Resources = []ResourceStatus{{Kind: "Deployment", Name: "backend"}, {Kind: "Service", Name: "backend"}}
	assert.NoError(t, CheckManages(&a, []string{"Service/backend", "Deployment/backend"}))
	assert.ErrorContains(t, CheckManages(&a, []string{"Deployment/backend"}), "application shop manages [Deployment/backend Service/backend], want [Deployment/backend]")
	assert.Error(t, CheckManages(&a, []string{"Deployment/backend", "Service/backend", "Deployment/experiment"}))
}

func TestJudgeReplicas(t *testing.T) {
	dep := func(spec, replicas, ready int32) *appsv1.Deployment {
		return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &spec},
			Status: appsv1.DeploymentStatus{Replicas: replicas, ReadyReplicas: ready}}
	}
	for _, c := range []struct {
		d     *appsv1.Deployment
		n     int
		ready bool
		want  await.State
	}{
		{dep(3, 5, 5), 3, false, await.Pass},   // spec reverted, pods still going
		{dep(3, 5, 5), 3, true, await.Pending}, // not settled yet
		{dep(3, 3, 3), 3, true, await.Pass},
		{dep(5, 5, 5), 3, false, await.Pending}, // still drifted
		{dep(3, 3, 2), 3, true, await.Pending},
	} {
		got := judgeReplicas(c.d, c.n, c.ready)
		assert.Equal(t, c.want, got.State, "%+v want %d ready=%v: %s", c.d.Status, c.n, c.ready, got.Saw)
	}
}
