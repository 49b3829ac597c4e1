package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/internal/loopback"
	"github.com/rehearse/rehearse/internal/timescale"
)

func TestParseManifestsNamesFileAndLine(t *testing.T) {
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [b\n"
	_, err := parseManifests("app.yaml", []byte(doc))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "app.yaml:9: document 2")
}

func TestParseManifestsRequiresKind(t *testing.T) {
	_, err := parseManifests("x.yaml", []byte("metadata:\n  name: a\n"))
	assert.ErrorContains(t, err, "x.yaml:1: document 1 has no apiVersion/kind")
}

func TestParseManifestsSkipsEmptyDocuments(t *testing.T) {
	objs, err := parseManifests("x.yaml", []byte("---\n# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n---\n"))
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, "ns1", objs[0].GetName())
}

func TestApplyApplicationRefusesBadDocumentsBeforeTouchingTheCluster(t *testing.T) {
	// An Engine with no cluster: any attempt to reach the API would panic.
	scale, _ := timescale.New(60)
	e := &Engine{settings: Settings{Rewriter: loopback.NewRewriter(), Scale: scale}}
	cases := map[string]string{
		"cannot parse":              "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n  source: [x\n",
		"want argoproj.io/v1alpha1": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
		"metadata.name is empty":    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec: {}\n",
		"spec.source is missing":    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec: {}\n",
		"no rewrite rule maps it":   "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n  source:\n    repoURL: http://192.168.0.11:7780/root/q-sign.git\n",
		"spec.sources[1].repoURL":   "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n  sources:\n  - repoURL: http://127.0.0.1:1/a.git\n  - repoURL: https://gitlab.example.com/b.git\n",
		"retry.backoff.duration":    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n  source:\n    repoURL: http://127.0.0.1:1/a.git\n  syncPolicy:\n    retry:\n      backoff:\n        duration: soon\n",
		"write repoURL: oci://registry.example.com/charts/web with path: .": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n  source:\n    repoURL: registry.example.com/charts\n    chart: web\n    targetRevision: 1.0.0\n",
		"expected exactly one document":                                     "apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\napiVersion: v1\nkind: B\nmetadata: {name: b}\n",
	}
	for want, doc := range cases {
		_, err := e.ApplyApplication(t.Context(), "application.yaml", []byte(doc), nil)
		var invalid *InvalidApplicationError
		require.ErrorAs(t, err, &invalid, want)
		assert.Contains(t, err.Error(), want)
		assert.Contains(t, err.Error(), "application.yaml")
	}
}

func TestRewriteSourcesMapsTheSeedURL(t *testing.T) {
	rw := loopback.NewRewriter()
	require.NoError(t, rw.Map("http://192.168.0.11:7780/", "http://127.0.0.1:5000/"))
	objs, err := parseManifests("a.yaml", []byte("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n  source:\n    repoURL: http://192.168.0.11:7780/root/q-sign.git\n"))
	require.NoError(t, err)
	e := &Engine{}
	require.NoError(t, e.rewriteSources(objs[0], rw))
	assert.Equal(t, "http://127.0.0.1:5000/root/q-sign.git", objs[0].Object["spec"].(map[string]any)["source"].(map[string]any)["repoURL"])

	// A chart in an OCI registry, as the registry mapping writes its rule.
	require.NoError(t, rw.Map("oci://registry.example.com/", "oci://127.0.0.1:5001/"))
	objs, err = parseManifests("b.yaml", []byte("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: b\nspec:\n  source:\n    repoURL: oci://registry.example.com/charts/web\n    path: .\n"))
	require.NoError(t, err)
	require.NoError(t, e.rewriteSources(objs[0], rw))
	assert.Equal(t, "oci://127.0.0.1:5001/charts/web", objs[0].Object["spec"].(map[string]any)["source"].(map[string]any)["repoURL"])
	objs, err = parseManifests("c.yaml", []byte("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: c\nspec:\n  source:\n    repoURL: oci://ghcr.io/acme/charts/web\n    path: .\n"))
	require.NoError(t, err)
	assert.ErrorContains(t, e.rewriteSources(objs[0], rw), "ghcr.io", "an unmapped OCI registry is refused")
}

func TestCompressRetryUsesTheRunsScale(t *testing.T) {
	scale, _ := timescale.New(60)
	e := &Engine{settings: Settings{Scale: scale}}
	objs, err := parseManifests("a.yaml", []byte("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: q-sign\nspec:\n  syncPolicy:\n    retry:\n      limit: 5\n      backoff:\n        duration: 5s\n        factor: 2\n        maxDuration: 3m\n"))
	require.NoError(t, err)
	require.NoError(t, e.compressRetry(objs[0]))
	backoff := objs[0].Object["spec"].(map[string]any)["syncPolicy"].(map[string]any)["retry"].(map[string]any)["backoff"].(map[string]any)
	assert.Equal(t, "83ms", backoff["duration"])
	assert.Equal(t, "3s", backoff["maxDuration"])
	assert.EqualValues(t, 2, backoff["factor"])
	assert.Len(t, scale.Rewrites(), 2)
}
