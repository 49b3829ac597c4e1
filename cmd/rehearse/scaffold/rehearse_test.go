package rehearsal_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse/rehearse"
)

// TestFeatures runs features/ and go-steps/ under go test, each scenario
// a subtest, with Rehearse's steps and the Go step below. go-steps/ holds
// the scenarios that use Go steps: `rehearse run` alone does not know them.
func TestFeatures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and Argo CD")
	}
	summary, err := rehearse.Run(context.Background(),
		rehearse.WithTesting(t),
		rehearse.WithFeatures("features", "go-steps"),
		rehearse.WithReportRoot(t.TempDir()),
		rehearse.WithStep(`^within (\d+)s the Service "([^"]*)" in "([^"]*)" has (\d+) ready endpoints?$`,
			"Waits until the Service's EndpointSlices list that many ready endpoints.", readyEndpoints))
	if err != nil {
		t.Fatal(err)
	}
	if summary.Failed > 0 || summary.Passed == 0 {
		t.Errorf("%d passed, %d failed", summary.Passed, summary.Failed)
	}
}

// readyEndpoints is a step of this project's own, written in Go: it reads
// the scenario's cluster through the Scenario Rehearse gives it.
func readyEndpoints(ctx context.Context, s *rehearse.Scenario, seconds int, service, namespace string, want int) error {
	kube, err := s.Kube(ctx)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for {
		slices, err := kube.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{
			LabelSelector: discoveryv1.LabelServiceName + "=" + service})
		if err != nil {
			return fmt.Errorf("listing the endpoints of %s/%s: %w", namespace, service, err)
		}
		ready := 0
		for _, sl := range slices.Items {
			for _, ep := range sl.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ready++
				}
			}
		}
		if ready == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %ds the Service %s/%s has %d ready endpoints, not %d", seconds, namespace, service, ready, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
