package steps

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/internal/await"
)

func (w *World) clusterSteps() []StepDef {
	return []StepDef{
		{Pattern: `^the namespace "([^"]*)" does not exist$`,
			Doc: "Makes sure the namespace is absent: one this run created (earlier scenarios leave theirs, empty, for speed) is deleted " +
				"and waited for (up to 60s; Kubernetes waits 5s before it starts deleting); one the run did not create is an error.",
			Example: `Given the namespace "q-sign" does not exist`,
			Fn:      w.namespaceAbsent},
		{Pattern: `^the namespace "([^"]*)" was created by Argo CD$`,
			Doc:     "Asserts the namespace exists and was written by Argo CD's controller (its field manager) and by nobody else, as CreateNamespace=true does.",
			Example: `And the namespace "q-sign" was created by Argo CD`,
			Fn:      w.namespaceCreatedByArgo},
		{Pattern: `^the namespace "([^"]*)" was not created$`,
			Doc:     "Asserts the namespace is absent and stays absent for 2s.",
			Example: `And the namespace "q-sign" was not created`,
			Fn:      w.namespaceNotCreated},
		{Pattern: `^within (\d+)s the deployment "([^"]*)" in "([^"]*)" has (\d+) ready replicas?$`,
			Doc:     "Waits until the Deployment reports this many ready replicas and is fully rolled out.",
			Example: `And within 30s the deployment "keycloak" in "q-sign" has 1 ready replica`,
			Fn:      w.deploymentReady},
		{Pattern: `^the ConfigMap "([^"]*)" in "([^"]*)" has "([^"]*)" set to "([^"]*)"$`,
			Doc:     "Asserts one key of a live ConfigMap.",
			Example: `And the ConfigMap "keycloak-config" in "q-sign" has "KC_REALM" set to "q-sign"`,
			Fn:      w.configMapHas},
	}
}

func (w *World) namespaceAbsent(ctx context.Context, ns string) error {
	if err := w.env.EnsureNamespaceAbsent(ctx, ns); err != nil {
		return err
	}
	// Whatever creates it now, this scenario caused it.
	w.newNamespaces[ns] = true
	return nil
}

func (w *World) namespaceCreatedByArgo(ctx context.Context, ns string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	got, err := e.Kube().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	if engine.CreatedByArgoCD(got.ManagedFields) {
		return nil
	}
	return fmt.Errorf("namespace %s was not created by Argo CD alone (field managers: %s)", ns, engine.FieldManagers(got.ManagedFields))
}

func (w *World) namespaceNotCreated(ctx context.Context, ns string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Consistently(ctx, "namespace "+ns+" to stay absent", 2*time.Second, func(ctx context.Context) await.Result {
		_, err := e.Kube().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return await.Passed("absent")
		}
		if err != nil {
			return await.Waiting("%v", err)
		}
		return await.Failed("namespace %s exists", ns)
	})
	return err
}

func (w *World) deploymentReady(ctx context.Context, seconds int, name, ns string, replicas int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("deployment %s/%s to have %d ready replicas", ns, name, replicas), time.Duration(seconds)*time.Second,
		func(ctx context.Context) await.Result {
			d, err := e.Kube().AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return await.Waiting("%v", err)
			}
			st := d.Status
			saw := fmt.Sprintf("replicas=%d updated=%d ready=%d available=%d", st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas)
			if int(st.ReadyReplicas) == replicas && int(st.Replicas) == replicas && int(st.UpdatedReplicas) == replicas && st.ObservedGeneration >= d.Generation {
				return await.Passed("%s", saw)
			}
			return await.Waiting("%s", saw)
		})
	return err
}

func (w *World) configMapHas(ctx context.Context, name, ns, key, value string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	cm, err := e.Kube().CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if got, ok := cm.Data[key]; !ok || got != value {
		return fmt.Errorf("ConfigMap %s/%s has %s=%q, want %q", ns, name, key, got, value)
	}
	return nil
}
