package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// kubectlEngine is an Engine whose cluster serves Deployments and
// Services, and records the patches it is sent.
func kubectlEngine(t *testing.T) (*Engine, *dynamicfake.FakeDynamicClient) {
	kube := kubefake.NewClientset()
	kube.Discovery().(*fakediscovery.FakeDiscovery).Resources = []*metav1.APIResourceList{
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{{Name: "deployments", Kind: "Deployment", Namespaced: true}}},
		{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "services", Kind: "Service", Namespaced: true}}},
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		{Group: "apps", Version: "v1", Resource: "deployments"}: "DeploymentList",
		{Version: "v1", Resource: "services"}:                   "ServiceList",
	})
	// The fake tracker cannot merge an apply patch: record it and answer
	// with the object, as the API server would.
	dyn.PrependReactor("patch", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, nil
	})
	return &Engine{kube: kube, dyn: dyn}, dyn
}

func patches(dyn *dynamicfake.FakeDynamicClient) []clienttesting.PatchAction {
	var out []clienttesting.PatchAction
	for _, a := range dyn.Actions() {
		if p, ok := a.(clienttesting.PatchAction); ok {
			out = append(out, p)
		}
	}
	return out
}

func TestKubectlApplyAppliesEveryDocumentInTheNamespace(t *testing.T) {
	e, dyn := kubectlEngine(t)
	doc := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: green, namespace: elsewhere}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: green}\n")
	objs, err := e.KubectlApply(t.Context(), "green.yaml of root/q-sign", doc, "q-sign")
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.Equal(t, []string{"Deployment q-sign/green", "Service q-sign/green"}, []string{
		objs[0].Kind + " " + objs[0].Namespace + "/" + objs[0].Name, objs[1].Kind + " " + objs[1].Namespace + "/" + objs[1].Name})
	ps := patches(dyn)
	require.Len(t, ps, 2)
	for _, p := range ps {
		assert.Equal(t, types.ApplyPatchType, p.GetPatchType())
		assert.Equal(t, "q-sign", p.GetNamespace(), "-n wins over the manifest's namespace")
		assert.Contains(t, string(p.GetPatch()), `"namespace":"q-sign"`)
	}
	assert.Equal(t, "deployments", ps[0].GetResource().Resource)
}

func TestKubectlApplyAppliesNothingWhenADocumentIsBad(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"unknown kind": {"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n", "green.yaml: Widget w:"},
		"no name":      {"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {}\n", "green.yaml: document 2 (Service) has no metadata.name"},
		"invalid YAML": {"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n---\nkind: [\n", "green.yaml:5: document 2 is not valid YAML"},
		"no kind":      {"apiVersion: v1\nmetadata: {name: a}\n", "green.yaml:1: document 1 has no apiVersion/kind"},
		"empty":        {"# nothing\n", "green.yaml: no Kubernetes object in it"},
	} {
		t.Run(name, func(t *testing.T) {
			e, dyn := kubectlEngine(t)
			_, err := e.KubectlApply(t.Context(), "green.yaml", []byte(tc.doc), "q-sign")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, patches(dyn), "nothing is half-applied")
		})
	}
}
