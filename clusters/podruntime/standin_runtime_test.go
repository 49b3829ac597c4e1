package podruntime_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/rehearse/rehearse/clusters/kwok"
	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/internal/binaries"
)

func plainPod(name string, policy corev1.RestartPolicy, inits []corev1.Container, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"test": "standin"}},
		Spec: corev1.PodSpec{RestartPolicy: policy, TerminationGracePeriodSeconds: ptr.To[int64](1),
			InitContainers: inits, Containers: containers}}
}

func script(name, image, sh string) corev1.Container {
	return corev1.Container{Name: name, Image: image, Command: []string{"/bin/sh", "-c", sh},
		Env: []corev1.EnvVar{{Name: "GREETING", Value: "hello"}}}
}

func podIn(cs kubernetes.Interface, name string, ok func(*corev1.Pod) (bool, string)) func(context.Context) await.Result {
	return func(ctx context.Context) await.Result {
		p, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return await.Waiting("%v", err)
		}
		if done, saw := ok(p); done {
			return await.Passed("%s", saw)
		}
		return await.Waiting("%s is %s %+v %+v", name, p.Status.Phase, p.Status.InitContainerStatuses, p.Status.ContainerStatuses)
	}
}

// standInCluster starts a control plane whose pod runtime has
// rehearse-container and the stand-in table, with one-second back-offs;
// it is deleted when the test ends.
func standInCluster(t *testing.T, standIns *podruntime.StandIns, name string) kubernetes.Interface {
	ctx := context.Background()
	helper, err := podruntime.BuildHelper(ctx, &binaries.Cache{Root: t.TempDir()})
	require.NoError(t, err)
	p, err := kwok.New(kwok.WithPodRuntime(podruntime.Options{StandIns: standIns, Helper: helper,
		PullBackoff: time.Second, CrashBackoff: time.Second}))
	require.NoError(t, err)
	c, err := p.Create(ctx, name)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Delete(context.Background()) })
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	require.NoError(t, err)
	return cs
}

// podReady passes a pod whose Ready condition is true.
func podReady(p *corev1.Pod) (bool, string) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true, "ready"
		}
	}
	return false, ""
}

// eventsOf is every event message of the default namespace's pod, one a line.
func eventsOf(t *testing.T, cs kubernetes.Interface, pod string) string {
	events, err := cs.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
	require.NoError(t, err)
	var said []string
	for _, e := range events.Items {
		said = append(said, e.Message)
	}
	return strings.Join(said, "\n")
}

func TestStandInsScriptsAndInitContainers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and builds rehearse-container")
	}
	ctx := context.Background()
	standIns := &podruntime.StandIns{}
	require.NoError(t, standIns.Declare("docker.io/*"))
	require.NoError(t, standIns.SetBehaviour("nginx:1.27", podruntime.StandInBehaviour{ErrorRate: 0.5}))
	cs := standInCluster(t, standIns, "standins")
	pods := cs.CoreV1().Pods("default")

	// A stood-in web server: ready through its probes, answering as the image.
	web := corev1.Container{Name: "web", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
		ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}},
		LivenessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
			Exec: &corev1.ExecAction{Command: []string{"nginx", "-t"}}}}}
	_, err := pods.Create(ctx, plainPod("web", corev1.RestartPolicyAlways,
		[]corev1.Container{script("migrate", "busybox:1.36", `echo "$GREETING from init"; sleep 0.2`)}, web), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "web ready", 30*time.Second, podIn(cs, "web", podReady))
	require.NoError(t, err)
	pod, err := pods.Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	require.Len(t, pod.Status.InitContainerStatuses, 1)
	init := pod.Status.InitContainerStatuses[0]
	require.NotNil(t, init.State.Terminated)
	assert.Equal(t, int32(0), init.State.Terminated.ExitCode)
	assert.Equal(t, "rehearse.dev/stand-in/nginx:1.27", pod.Status.ContainerStatuses[0].ImageID)
	client := &http.Client{Transport: &http.Transport{DialContext: podruntime.Dial}}
	codes := map[int]int{}
	for range 4 {
		resp, err := client.Get("http://" + pod.Status.PodIP + ":80/")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
		assert.Contains(t, string(body), "stand-in for nginx:1.27, version 1.27, pod web")
	}
	assert.Equal(t, map[int]int{200: 2, 500: 2}, codes, "the tag's declared 50% error rate")
	said := eventsOf(t, cs, "web")
	assert.Contains(t, said, `stand-in for nginx:1.27 (Rehearse's stand-in program; declared by "docker.io/*")`)

	// An exec probe that is a shell script runs with the container's own
	// environment: the pod is Ready only if it sees GREETING.
	probed := script("worker", "busybox", "sleep 60")
	probed.ReadinessProbe = &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
		Exec: &corev1.ExecAction{Command: []string{"sh", "-c", `test "$GREETING" = hello`}}}}
	_, err = pods.Create(ctx, plainPod("probed", corev1.RestartPolicyAlways, nil, probed), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "probed ready", 30*time.Second, podIn(cs, "probed", podReady))
	require.NoError(t, err)

	// A gRPC readiness probe asks the stand-in's health service.
	rpc := corev1.Container{Name: "rpc", Image: "docker.io/acme/rpc:3", ReadinessProbe: &corev1.Probe{PeriodSeconds: 1,
		ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090, Service: ptr.To("acme.Orders")}}}}
	_, err = pods.Create(ctx, plainPod("rpc", corev1.RestartPolicyAlways, nil, rpc), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "rpc ready", 30*time.Second, podIn(cs, "rpc", podReady))
	require.NoError(t, err)

	// Scripts decide by their exit code: a Job-like pod succeeds or fails.
	_, err = pods.Create(ctx, plainPod("job-ok", corev1.RestartPolicyNever, nil,
		script("run", "busybox", `for i in $(seq 3); do echo step $i; done; exit 0`)), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, plainPod("job-fail", corev1.RestartPolicyNever, nil,
		script("run", "busybox", `echo "$GREETING"; exit 3`)), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, plainPod("init-fail", corev1.RestartPolicyNever,
		[]corev1.Container{script("check", "busybox", "exit 1")}, script("never", "busybox", "echo must not run")), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "job-ok Succeeded", 30*time.Second, podIn(cs, "job-ok", func(p *corev1.Pod) (bool, string) {
		return p.Status.Phase == corev1.PodSucceeded, string(p.Status.Phase)
	}))
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "job-fail Failed with 3", 30*time.Second, podIn(cs, "job-fail", func(p *corev1.Pod) (bool, string) {
		if p.Status.Phase != corev1.PodFailed || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Terminated == nil {
			return false, ""
		}
		return p.Status.ContainerStatuses[0].State.Terminated.ExitCode == 3, "exit 3"
	}))
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "init-fail Failed before its container", 30*time.Second, podIn(cs, "init-fail", func(p *corev1.Pod) (bool, string) {
		if p.Status.Phase != corev1.PodFailed {
			return false, ""
		}
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == "PodInitializing", "container never started"
	}))
	require.NoError(t, err)

	// An image neither in a registry nor declared is never stood in.
	_, err = pods.Create(ctx, plainPod("undeclared", corev1.RestartPolicyAlways, nil,
		corev1.Container{Name: "app", Image: "gcr.io/acme/app:2"}), metav1.CreateOptions{})
	require.NoError(t, err)
	res, err := await.Eventually(ctx, "undeclared fails to pull", 30*time.Second, podIn(cs, "undeclared", func(p *corev1.Pod) (bool, string) {
		for _, s := range p.Status.ContainerStatuses {
			if w := s.State.Waiting; w != nil && w.Reason == "ErrImagePull" {
				return true, w.Message
			}
		}
		return false, ""
	}))
	require.NoError(t, err)
	assert.Contains(t, res.Saw, `provide it in a mapped local registry (Given the registry holds "gcr.io/acme/app:2" built from the folder "...", or from the image file "..."), `+
		`or declare it stood in (Given images matching "gcr.io/acme/app*" are stood in; or, for every image no registry serves, standInUnserved: true in rehearse.yaml)`)
}

// An image no registry serves fails its pull, naming the ways to provide
// it, until the project opts in to standing in such images; the pod then
// runs the stand-in on its next pull, and its events say why.
func TestUnservedImagesAreStoodInOnlyOnceTheProjectSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and builds rehearse-container")
	}
	ctx := context.Background()
	standIns := &podruntime.StandIns{}
	cs := standInCluster(t, standIns, "unserved")

	web := corev1.Container{Name: "web", Image: "gcr.io/google-samples/gb-frontend:v5", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}
	_, err := cs.CoreV1().Pods("default").Create(ctx, plainPod("frontend", corev1.RestartPolicyAlways, nil, web), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "frontend failing its pull", 30*time.Second, podIn(cs, "frontend", func(p *corev1.Pod) (bool, string) {
		for _, s := range p.Status.ContainerStatuses {
			if w := s.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				return true, w.Reason
			}
		}
		return false, ""
	}))
	require.NoError(t, err, "never stood in silently")

	standIns.StandInUnserved()
	_, err = await.Eventually(ctx, "frontend ready as a stand-in", 30*time.Second, podIn(cs, "frontend", podReady))
	require.NoError(t, err)
	all := eventsOf(t, cs, "frontend")
	assert.Contains(t, all, "standInUnserved: true in rehearse.yaml", "the failed pull named the ways to provide it")
	assert.Contains(t, all, `Container image "gcr.io/google-samples/gb-frontend:v5" is served by no registry here (`)
	assert.Contains(t, all, "registry gcr.io is not mapped to a local registry")
	assert.Contains(t, all, "the project stands in "+podruntime.UnservedPattern)
}

// A startup probe holds the readiness and liveness probes back until it
// succeeds, and restarts a container that fails it, as the kubelet does.
func TestStartupProbesGateReadinessAndRestartOnFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and builds rehearse-container")
	}
	ctx := context.Background()
	standIns := &podruntime.StandIns{}
	require.NoError(t, standIns.Declare("docker.io/*"))
	cs := standInCluster(t, standIns, "startup")
	pods := cs.CoreV1().Pods("default")
	// Inside the container's own filesystem, where its probes look too.
	marker := "/tmp/started"
	probe := func(script string, failures int32) *corev1.Probe {
		return &corev1.Probe{PeriodSeconds: 1, FailureThreshold: failures,
			ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", script}}}}
	}

	slow := script("app", "busybox", "sleep 2; touch "+marker+"; sleep 60")
	slow.StartupProbe = probe("test -f "+marker, 30)
	slow.ReadinessProbe = probe("true", 1)
	start := time.Now()
	_, err := pods.Create(ctx, plainPod("slow", corev1.RestartPolicyAlways, nil, slow), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "slow running, not started", 20*time.Second, podIn(cs, "slow", func(p *corev1.Pod) (bool, string) {
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Running != nil && s.Started != nil && !*s.Started && !s.Ready {
				return true, "running, not started"
			}
		}
		return false, ""
	}))
	require.NoError(t, err, "running but not started: readiness waits for the startup probe")
	_, err = await.Eventually(ctx, "slow started and ready", 20*time.Second, podIn(cs, "slow", func(p *corev1.Pod) (bool, string) {
		for _, s := range p.Status.ContainerStatuses {
			if s.Started != nil && *s.Started && s.Ready {
				return true, "started and ready"
			}
		}
		return false, ""
	}))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Second, "not ready before its program said it had started")

	never := script("app", "busybox", "sleep 60")
	never.StartupProbe = probe("exit 1", 2)
	_, err = pods.Create(ctx, plainPod("never", corev1.RestartPolicyAlways, nil, never), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "never restarted by its startup probe", 30*time.Second, podIn(cs, "never", func(p *corev1.Pod) (bool, string) {
		for _, s := range p.Status.ContainerStatuses {
			if s.RestartCount >= 1 && !s.Ready {
				return true, fmt.Sprintf("%d restarts", s.RestartCount)
			}
		}
		return false, ""
	}))
	require.NoError(t, err)
	said := eventsOf(t, cs, "never")
	assert.Contains(t, said, "Container app failed startup probe, will be restarted")
}

// Scripts from a ConfigMap volume run, as sh FILE or as the command (by
// their #! line), sourcing each other and sharing an emptyDir between an
// init container and the container; the exit code decides. A ConfigMap
// that does not exist keeps the container from starting, said by name.
func TestScriptsFromVolumesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and builds rehearse-container")
	}
	ctx := context.Background()
	standIns := &podruntime.StandIns{}
	require.NoError(t, standIns.Declare("docker.io/*"))
	cs := standInCluster(t, standIns, "volumes")
	_, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "scripts"},
		Data: map[string]string{
			"lib.sh":     "say() { echo \"[$1] $2\"; }\n",
			"migrate.sh": "#!/bin/sh\n. /opt/scripts/lib.sh\nsay migrate \"to $TARGET\"\necho \"$TARGET\" > /work/schema\nexit \"${FAIL:-0}\"\n",
			"check.sh":   "test \"$(cat /work/schema)\" = v7 && echo schema v7\n",
		}}, metav1.CreateOptions{})
	require.NoError(t, err)
	volumes := []corev1.Volume{
		{Name: "scripts", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "scripts"}, DefaultMode: ptr.To[int32](0o755)}}},
		{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	mounts := []corev1.VolumeMount{{Name: "scripts", MountPath: "/opt/scripts"}, {Name: "work", MountPath: "/work"}}
	job := func(name, fail string) *corev1.Pod {
		migrate := corev1.Container{Name: "migrate", Image: "busybox:1.36", Command: []string{"/opt/scripts/migrate.sh"},
			Env: []corev1.EnvVar{{Name: "TARGET", Value: "v7"}, {Name: "FAIL", Value: fail}}, VolumeMounts: mounts}
		check := corev1.Container{Name: "check", Image: "busybox:1.36", Command: []string{"sh", "/opt/scripts/check.sh"}, VolumeMounts: mounts}
		p := plainPod(name, corev1.RestartPolicyNever, []corev1.Container{migrate}, check)
		p.Spec.Volumes = volumes
		return p
	}
	pods := cs.CoreV1().Pods("default")
	_, err = pods.Create(ctx, job("migrate-ok", "0"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, job("migrate-fails", "4"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "migrate-ok Succeeded", 30*time.Second, podIn(cs, "migrate-ok", func(p *corev1.Pod) (bool, string) {
		return p.Status.Phase == corev1.PodSucceeded, string(p.Status.Phase)
	}))
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "migrate-fails Failed by its init container's exit 4", 30*time.Second, podIn(cs, "migrate-fails", func(p *corev1.Pod) (bool, string) {
		if p.Status.Phase != corev1.PodFailed || len(p.Status.InitContainerStatuses) == 0 || p.Status.InitContainerStatuses[0].State.Terminated == nil {
			return false, ""
		}
		return p.Status.InitContainerStatuses[0].State.Terminated.ExitCode == 4, "exit 4"
	}))
	require.NoError(t, err)
	fails, err := pods.Get(ctx, "migrate-fails", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, fails.Status.InitContainerStatuses[0].State.Terminated.Message, "[migrate] to v7", "the script's own log, lib.sh sourced")

	missing := job("no-configmap", "0")
	missing.Spec.Volumes[0].ConfigMap.Name = "absent"
	_, err = pods.Create(ctx, missing, metav1.CreateOptions{})
	require.NoError(t, err)
	res, err := await.Eventually(ctx, "no-configmap waits for its volume", 30*time.Second, podIn(cs, "no-configmap", func(p *corev1.Pod) (bool, string) {
		for _, s := range p.Status.InitContainerStatuses {
			if w := s.State.Waiting; w != nil && w.Reason == "CreateContainerConfigError" {
				return true, w.Message
			}
		}
		return false, ""
	}))
	require.NoError(t, err)
	assert.Contains(t, res.Saw, `configmap "absent" not found`)
}

// A script reaches a Service by its cluster name, as with cluster DNS and
// kube-proxy: curl gets a ready endpoint's answer, and a Service with no
// ready endpoint fails the script with curl's own status.
func TestScriptsReachServicesByName(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and builds rehearse-container")
	}
	ctx := context.Background()
	standIns := &podruntime.StandIns{}
	require.NoError(t, standIns.Declare("docker.io/*"))
	cs := standInCluster(t, standIns, "services")
	web := plainPod("web", corev1.RestartPolicyAlways, nil, corev1.Container{Name: "web", Image: "nginx:1.27",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}})
	web.Labels["app"] = "web"
	_, err := cs.CoreV1().Pods("default").Create(ctx, web, metav1.CreateOptions{})
	require.NoError(t, err)
	for _, name := range []string{"web", "idle"} {
		_, err = cs.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}},
			metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err = await.Eventually(ctx, "web ready", 30*time.Second, podIn(cs, "web", podReady))
	require.NoError(t, err)
	pods := cs.CoreV1().Pods("default")
	_, err = pods.Create(ctx, plainPod("check", corev1.RestartPolicyNever, nil,
		script("check", "busybox", `until curl -sf -o /tmp/page http://web.default.svc.cluster.local/; do sleep 0.5; done; cat /tmp/page`)), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, plainPod("idle-check", corev1.RestartPolicyNever, nil,
		script("check", "busybox", `curl -sS http://idle/`)), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = await.Eventually(ctx, "check Succeeded", 60*time.Second, podIn(cs, "check", func(p *corev1.Pod) (bool, string) {
		return p.Status.Phase == corev1.PodSucceeded, string(p.Status.Phase)
	}))
	require.NoError(t, err)
	res, err := await.Eventually(ctx, "idle-check Failed with curl's 7", 30*time.Second, podIn(cs, "idle-check", func(p *corev1.Pod) (bool, string) {
		if p.Status.Phase != corev1.PodFailed || p.Status.ContainerStatuses[0].State.Terminated == nil {
			return false, ""
		}
		term := p.Status.ContainerStatuses[0].State.Terminated
		return term.ExitCode == 7, term.Message
	}))
	require.NoError(t, err)
	assert.Contains(t, res.Saw, "Service default/idle has no ready endpoint")
}
