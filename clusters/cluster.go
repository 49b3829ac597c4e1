package clusters

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
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

// Provider creates clusters of one backend.
type Provider interface {
	Create(ctx context.Context, name string) (Cluster, error)
}

// Logger receives progress lines.
type Logger interface {
	Printf(format string, args ...any)
}

// WaitForDefaultServiceAccount waits until the default ServiceAccount exists
// in the default namespace: before that, pods cannot be created, so this is
// the cluster's real "ready" moment.
func WaitForDefaultServiceAccount(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		_, last = cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if last == nil {
			return nil
		}
		if !apierrors.IsNotFound(last) && ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %s waiting for ServiceAccount default/default (last: %v)", timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("gave up after %s waiting for ServiceAccount default/default (last: %v)", timeout, last)
}
