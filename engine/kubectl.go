package engine

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/rehearse/rehearse/internal/await"
)

// KubectlFieldManager is the field manager of objects people apply by hand,
// as kubectl's server-side apply names itself.
const KubectlFieldManager = "kubectl"

// RESTMapper maps kinds to the API resources of the cluster Argo CD runs
// in by discovery, as kubectl does. Take a new one per use, so CRDs
// installed meanwhile are known: it reads discovery once, at its first
// lookup.
func (e *Engine) RESTMapper() meta.RESTMapper {
	return restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(e.kube.Discovery()))
}

// ManualObject is an object a person applied by hand, outside Argo CD.
type ManualObject struct {
	Kind, Namespace, Name string
	resource              dynamic.ResourceInterface
}

// KubectlApply applies the manifest's objects in namespace ns, as
// `kubectl apply --server-side --force-conflicts -n ns` does. source names
// the manifest in errors (file:line for YAML that does not parse). Every
// document is read and its kind resolved before the first is applied, so
// a manifest with a bad document applies nothing.
func (e *Engine) KubectlApply(ctx context.Context, source string, doc []byte, ns string) ([]*ManualObject, error) {
	objs, err := parseManifests(source, doc)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%s: no Kubernetes object in it", source)
	}
	mapper := e.RESTMapper()
	applied := make([]*ManualObject, len(objs))
	for i, obj := range objs {
		if obj.GetName() == "" {
			return nil, fmt.Errorf("%s: document %d (%s) has no metadata.name", source, i+1, obj.GetKind())
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", source, obj.GetKind(), obj.GetName(), err)
		}
		obj.SetNamespace(ns)
		applied[i] = &ManualObject{Kind: obj.GetKind(), Namespace: ns, Name: obj.GetName(), resource: e.dyn.Resource(m.Resource).Namespace(ns)}
	}
	force := true
	for i, obj := range objs {
		data, err := obj.MarshalJSON()
		if err != nil {
			return applied[:i], err
		}
		if _, err := applied[i].resource.Patch(ctx, obj.GetName(), types.ApplyPatchType, data,
			metav1.PatchOptions{FieldManager: KubectlFieldManager, Force: &force}); err != nil {
			return applied[:i], fmt.Errorf("kubectl apply %s: %s %s: %w", source, obj.GetKind(), obj.GetName(), err)
		}
	}
	return applied, nil
}

// Delete removes the object with foreground propagation (its dependents
// first) and waits until it is gone, at most timeout. An object already
// gone is not an error.
func (o *ManualObject) Delete(ctx context.Context, timeout time.Duration) error {
	fg := metav1.DeletePropagationForeground
	err := o.resource.Delete(ctx, o.Name, metav1.DeleteOptions{PropagationPolicy: &fg})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting %s %s/%s: %w", o.Kind, o.Namespace, o.Name, err)
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("%s %s/%s to be deleted", o.Kind, o.Namespace, o.Name), timeout,
		func(ctx context.Context) await.Result {
			u, err := o.resource.Get(ctx, o.Name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				return await.Passed("deleted")
			case err != nil:
				return await.Waiting("%v", err)
			}
			return await.Waiting("still there, finalizers %v", u.GetFinalizers())
		})
	return err
}
