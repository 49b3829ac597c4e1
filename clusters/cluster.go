package clusters

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/rehearse/rehearse/internal/await"
)

// Cluster is a running cluster a scenario can use.
type Cluster interface {
	// Name is unique within a run.
	Name() string
	// KubeconfigPath is a kubeconfig file whose current context is this cluster.
	KubeconfigPath() string
	// RESTConfig is ready to use with client-go.
	RESTConfig() *rest.Config
	// Delete stops the cluster and removes everything it created. Backends
	// that did not create the cluster (existing) leave it alone.
	Delete(ctx context.Context) error
}

// APIServerCrasher is a cluster whose API server Rehearse runs and can crash
// and restart (fault injection); the kwok backend is one.
type APIServerCrasher interface {
	CrashAPIServer(ctx context.Context, down time.Duration) error
}

// Provider creates clusters of one backend.
type Provider interface {
	Create(ctx context.Context, name string) (Cluster, error)
}

// WaitForDefaultServiceAccount waits until the default ServiceAccount exists
// in the default namespace: before that, pods cannot be created, so this is
// the cluster's real "ready" moment.
func WaitForDefaultServiceAccount(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, "ServiceAccount default/default", timeout, func(ctx context.Context) await.Result {
		if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return await.Waiting("%v", err)
		}
		return await.Passed("present")
	})
	return err
}
