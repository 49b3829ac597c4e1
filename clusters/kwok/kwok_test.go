package kwok

import (
	"context"
	"log"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/rehearse/rehearse/internal/await"
)

func newProvider(t *testing.T) *Provider {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	p, err := New(WithLogger(log.New(os.Stderr, "kwok-test: ", log.Ltime)))
	require.NoError(t, err)
	require.NoError(t, p.Prepare(context.Background()), "building the control plane")
	return p
}

func TestClusterRunsADeploymentAndLeavesNothingBehind(t *testing.T) {
	p := newProvider(t)
	ctx := context.Background()
	c, err := p.Create(ctx, "test")
	require.NoError(t, err)
	kc := c.(*Cluster)
	var pids []int
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		pr := kc.procs.Find(name)
		require.NotNil(t, pr, name)
		pids = append(pids, pr.Pid())
	}

	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	require.NoError(t, err)
	labels := map[string]string{"app": "demo"}
	_, err = cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "demo"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.invalid/demo:1"}}}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "3 ready replicas", 30*time.Second, func(ctx context.Context) await.Result {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "demo", metav1.GetOptions{})
		if err != nil {
			return await.Waiting("%v", err)
		}
		if d.Status.ReadyReplicas == 3 {
			return await.Passed("ready=3")
		}
		return await.Waiting("ready=%d", d.Status.ReadyReplicas)
	})
	require.NoError(t, err)
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, pod := range pods.Items {
		assert.NotEmpty(t, pod.Spec.NodeName, "scheduled by the real scheduler")
		assert.Equal(t, corev1.PodRunning, pod.Status.Phase)
	}

	require.NoError(t, c.Delete(ctx))
	_, err = os.Stat(kc.Dir())
	assert.True(t, os.IsNotExist(err), "working directory removed")
	for _, pid := range pids {
		assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "process %d still alive", pid)
	}
}

// BenchmarkWarmClusterStart measures create-to-ready (default
// ServiceAccount present, nodes Ready) with binaries already built.
func BenchmarkWarmClusterStart(b *testing.B) {
	p, err := New()
	require.NoError(b, err)
	require.NoError(b, p.Prepare(context.Background()))
	for i := 0; i < b.N; i++ {
		start := time.Now()
		c, err := p.Create(context.Background(), "bench")
		require.NoError(b, err)
		b.ReportMetric(time.Since(start).Seconds(), "s/start")
		require.NoError(b, c.Delete(context.Background()))
	}
}

func TestPodStagesSelectOnlySimulatedPodsWithARuntime(t *testing.T) {
	all := string(podStages(stagesYAML, false))
	assert.NotContains(t, all, "    # rehearse:pods\n")
	assert.NotContains(t, all, "values: ['simulated']")
	some := string(podStages(stagesYAML, true))
	assert.Equal(t, 2, strings.Count(some, "values: ['simulated']"), "the running and the gone stage")
}
