package podruntime_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/rehearse/rehearse/clusters/kwok"
	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/internal/binaries"
)

// BenchmarkStandInPodReady measures a stood-in pod from its creation to
// Ready (scheduled, the stand-in started, its HTTP readiness probe passed),
// on a control plane that is already up. It reports the median and the
// slowest of 20 pods created one after another.
func BenchmarkStandInPodReady(b *testing.B) {
	ctx := context.Background()
	root, err := binaries.DefaultRoot()
	require.NoError(b, err)
	helper, err := podruntime.BuildHelper(ctx, &binaries.Cache{Root: root})
	require.NoError(b, err)
	standIns := &podruntime.StandIns{}
	require.NoError(b, standIns.Declare("docker.io/*"))
	p, err := kwok.New(kwok.WithPodRuntime(podruntime.Options{StandIns: standIns, Helper: helper}))
	require.NoError(b, err)
	c, err := p.Create(ctx, "bench-standin")
	require.NoError(b, err)
	defer c.Delete(ctx)
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	require.NoError(b, err)
	b.ResetTimer()
	for range b.N {
		var took []time.Duration
		for i := range 20 {
			name := fmt.Sprintf("web-%d-%d", time.Now().UnixNano()%100000, i)
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: corev1.PodSpec{TerminationGracePeriodSeconds: ptrTo[int64](0), Containers: []corev1.Container{{
					Name: "web", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
					ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
						HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}}}}}}}
			start := time.Now()
			_, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
			require.NoError(b, err)
			_, err = await.Eventually(ctx, name+" ready", 30*time.Second, podIn(cs, name, func(p *corev1.Pod) (bool, string) {
				for _, c := range p.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
						return true, "ready"
					}
				}
				return false, ""
			}))
			require.NoError(b, err)
			took = append(took, time.Since(start))
			require.NoError(b, cs.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{}))
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		b.ReportMetric(took[len(took)/2].Seconds(), "p50-s")
		b.ReportMetric(took[len(took)-1].Seconds(), "max-s")
		b.Logf("stand-in pod creation to Ready over %d pods: p50 %s, max %s", len(took), took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	}
}

func ptrTo[T any](v T) *T { return &v }
