package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/rehearse/rehearse/internal/loopback"
)

func TestRewriteEveryRepoURLOfAnApplicationSet(t *testing.T) {
	var obj map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(`
spec:
  generators:
    - git:
        repoURL: https://git.example.com/platform/gitops.git
        directories: [{path: "apps/*"}]
    - list:
        elements: [{url: "https://git.example.com/platform/other.git"}]
  template:
    spec:
      source:
        repoURL: https://git.example.com/platform/gitops.git
      sources:
        - repoURL: "{{.url}}"
`), &obj))
	rw := loopback.NewRewriter()
	require.NoError(t, rw.Map("https://git.example.com/", "http://127.0.0.1:9/"))
	n, err := rewriteEveryRepoURL(obj, "", rw)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	out, _ := yaml.Marshal(obj)
	assert.Contains(t, string(out), "repoURL: http://127.0.0.1:9/platform/gitops.git")
	assert.NotContains(t, string(out), "repoURL: https://git.example.com")
	assert.Contains(t, string(out), "repoURL: '{{.url}}'", "a templated URL is the controller's to fill in")
	assert.Contains(t, string(out), "url: http://127.0.0.1:9/platform/other.git", "from generators whose URLs are rewritten")

	var leaky map[string]any
	require.NoError(t, yaml.Unmarshal([]byte("spec:\n  generators:\n    - list:\n        elements: [{url: https://github.com/x/y.git}]\n  template:\n    spec:\n      source:\n        repoURL: '{{.url}}'\n"), &leaky))
	_, err = rewriteEveryRepoURL(leaky, "", rw)
	assert.ErrorContains(t, err, ".spec.generators[0].list.elements[0].url", "an unmapped URL a template would use is refused")

	var bad map[string]any
	require.NoError(t, yaml.Unmarshal([]byte("spec:\n  generators:\n    - git:\n        repoURL: https://github.com/x/y.git\n"), &bad))
	_, err = rewriteEveryRepoURL(bad, "", rw)
	assert.ErrorContains(t, err, ".spec.generators[0].git.repoURL")
}
