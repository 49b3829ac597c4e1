package rehearse_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rehearse/rehearse"
)

// createDeployment is a user's own step: it reaches the scenario's cluster
// through the Scenario and creates a Deployment there.
func createDeployment(ctx context.Context, s *rehearse.Scenario, name, image, namespace string) error {
	kube, err := s.Kube(ctx)
	if err != nil {
		return err
	}
	labels := map[string]string{"app": name}
	_, err = kube.AppsV1().Deployments(namespace).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image,
					Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating deployment %s: %w", name, err)
	}
	s.Note("created deployment %s/%s of %s from Go", namespace, name, image)
	return nil
}

func TestRunWithAUserStep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and Argo CD")
	}
	var out bytes.Buffer
	summary, err := rehearse.Run(context.Background(),
		rehearse.WithFeatures("testdata/userstep/features"),
		rehearse.WithReportRoot(t.TempDir()), rehearse.WithLanes(1), rehearse.WithFormat("progress"),
		rehearse.WithOutput(io.MultiWriter(&out, testWriter{t})), rehearse.WithLogger(log.New(testWriter{t}, "rehearse: ", log.Ltime)),
		rehearse.WithStep(`^the team creates the Deployment "([^"]*)" of "([^"]*)" in "([^"]*)" from Go$`,
			"Creates a one-replica Deployment through the scenario's Kubernetes client.", createDeployment))
	require.NoError(t, err)
	assert.Equal(t, 1, summary.Passed, out.String())
	assert.Equal(t, 0, summary.Failed)
	require.Len(t, summary.Scenarios, 1)
	assert.Contains(t, summary.Scenarios[0].Notes, "created deployment default/hello of nginx:1.27 from Go")
	assert.Contains(t, out.String(), "1 passed, 0 failed")
}

func TestRunRefusesABadUserStepBeforeStarting(t *testing.T) {
	_, err := rehearse.Run(context.Background(),
		rehearse.WithFeatures("testdata/userstep/features"), rehearse.WithReportRoot(t.TempDir()), rehearse.WithOutput(io.Discard),
		rehearse.WithStep(`^the team creates the Deployment "([^"]*)" of "([^"]*)" in "([^"]*)" from Go$`, "",
			func(name string) error { return nil }))
	assert.ErrorContains(t, err, "it must be func(context.Context, *rehearse.Scenario, args...) error")
	_, err = rehearse.Run(context.Background(),
		rehearse.WithFeatures("testdata/userstep/features"), rehearse.WithReportRoot(t.TempDir()), rehearse.WithOutput(io.Discard))
	assert.ErrorContains(t, err, `unknown step "the team creates the Deployment \"hello\" of \"nginx:1.27\" in \"default\" from Go"`)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
