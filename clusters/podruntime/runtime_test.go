package podruntime_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/rehearse/rehearse/clusters/kwok"
	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/internal/images"
	"github.com/rehearse/rehearse/internal/loopback"
)

// seedRegistry is a documentation-range address standing for a remote
// registry: mapped to the local one, never dialed.
const seedRegistry = "192.0.2.1:5000"

func startRegistry(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	bin := filepath.Join(t.TempDir(), "web")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/web")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	img, err := images.Build(images.Spec{Binary: bin, Entrypoint: "/web"})
	require.NoError(t, err)
	ref, err := name.ParseReference(ln.Addr().String()+"/demo/web:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	return ln.Addr().String()
}

func deployment(image string, ready bool) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(0))}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](2), Containers: []corev1.Container{{
					Name: "web", Image: image,
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
					Env:   []corev1.EnvVar{{Name: "MESSAGE", Value: "hello"}, {Name: "READY", Value: fmt.Sprint(ready)}},
					ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
						HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}},
				}}}},
		},
	}
}

func waiting(cs kubernetes.Interface, reason string) func(context.Context) await.Result {
	return func(ctx context.Context) await.Result {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return await.Waiting("%v", err)
		}
		for _, p := range pods.Items {
			for _, s := range p.Status.ContainerStatuses {
				if s.State.Waiting != nil && s.State.Waiting.Reason == reason {
					return await.Passed("%s: %s", p.Name, s.State.Waiting.Message)
				}
			}
		}
		return await.Waiting("no pod waiting with %s", reason)
	}
}

func TestPodsRunTheirImages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	registry := startRegistry(t)
	mirrors := loopback.NewRewriter()
	require.NoError(t, mirrors.Map("http://"+seedRegistry+"/", "http://"+registry+"/"))
	p, err := kwok.New(kwok.WithPodRuntime(podruntime.Options{Mirrors: mirrors, PullBackoff: time.Second}))
	require.NoError(t, err)
	ctx := context.Background()
	c, err := p.Create(ctx, "runtime")
	require.NoError(t, err)
	cluster := c.(*kwok.Cluster)
	defer cluster.Delete(ctx)
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	require.NoError(t, err)
	deploys := cs.AppsV1().Deployments("default")

	_, err = deploys.Create(ctx, deployment(seedRegistry+"/demo/web:v1", true), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "2 available replicas", 30*time.Second, func(ctx context.Context) await.Result {
		d, err := deploys.Get(ctx, "web", metav1.GetOptions{})
		if err != nil || d.Status.AvailableReplicas != 2 {
			return await.Waiting("%v available", d.Status.AvailableReplicas)
		}
		return await.Passed("available")
	})
	require.NoError(t, err)
	assert.Equal(t, 2, cluster.PodRuntime().Containers())

	// The pod IP answers with the container's own program.
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 2)
	pod := pods.Items[0]
	assert.True(t, strings.HasPrefix(pod.Status.PodIP, "10.245."), pod.Status.PodIP)
	client := &http.Client{Transport: &http.Transport{DialContext: podruntime.Dial}}
	resp, err := client.Get("http://" + pod.Status.PodIP + ":8080/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "hello from "+pod.Name, string(body))
	assert.Contains(t, pod.Status.ContainerStatuses[0].ImageID, "@sha256:")

	// A release that never becomes ready stalls the rollout; the old pods
	// keep serving.
	_, err = deploys.Update(ctx, deployment(seedRegistry+"/demo/web:v1", false), metav1.UpdateOptions{})
	require.NoError(t, err)
	_, err = await.Consistently(ctx, "old pods serve while the new one is unready", 4*time.Second, func(ctx context.Context) await.Result {
		d, err := deploys.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return await.Waiting("%v", err)
		}
		if d.Status.AvailableReplicas != 2 {
			return await.Failed("available replicas fell to %d", d.Status.AvailableReplicas)
		}
		return await.Passed("2 available, %d updated", d.Status.UpdatedReplicas)
	})
	require.NoError(t, err)

	// A missing image and an unmapped registry fail to pull.
	_, err = deploys.Update(ctx, deployment(seedRegistry+"/demo/web:v9", true), metav1.UpdateOptions{})
	require.NoError(t, err)
	res, err := await.Eventually(ctx, "ImagePullBackOff", 20*time.Second, waiting(cs, "ImagePullBackOff"))
	require.NoError(t, err)
	t.Log(res)
	_, err = deploys.Update(ctx, deployment("203.0.113.9:5000/demo/web:v1", true), metav1.UpdateOptions{})
	require.NoError(t, err)
	res, err = await.Eventually(ctx, "ErrImagePull for an unmapped registry", 20*time.Second, func(ctx context.Context) await.Result {
		r := waiting(cs, "ErrImagePull")(ctx)
		if r.State == await.Pass && !strings.Contains(r.Saw, "not mapped") {
			return await.Waiting("%s", r.Saw)
		}
		if r.State != await.Pass {
			return waiting(cs, "ImagePullBackOff")(ctx)
		}
		return r
	})
	require.NoError(t, err)

	// Deleting the Deployment stops every process and removes the pods.
	require.NoError(t, deploys.Delete(ctx, "web", metav1.DeleteOptions{}))
	_, err = await.Eventually(ctx, "pods gone", 30*time.Second, func(ctx context.Context) await.Result {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil || len(pods.Items) > 0 {
			return await.Waiting("%d pods left", len(pods.Items))
		}
		if n := cluster.PodRuntime().Containers(); n > 0 {
			return await.Waiting("%d containers still run", n)
		}
		return await.Passed("gone")
	})
	require.NoError(t, err)
}
