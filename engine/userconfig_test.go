package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	return dir
}

func TestReadUserConfig(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"argocd-cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\ndata:\n  resource.exclusions: |\n    - kinds: [Event]\n",
		"projects.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: team\nspec:\n  sourceRepos: ['*']\n" +
			"---\napiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: other\n",
		"README.md": "not read",
	})
	c, err := ReadUserConfig(dir)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"resource.exclusions": "- kinds: [Event]\n"}, c.configMaps["argocd-cm"])
	require.Len(t, c.projects, 2)
	assert.Equal(t, Namespace, c.projects[0].GetNamespace())

	for files, want := range map[string]string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\ndata:\n  timeout.reconciliation: 180s\n": "sets timeout.reconciliation, which Rehearse sets itself",
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: argocd-secret\n":                                       "v1 Secret/argocd-secret is not Argo CD configuration Rehearse applies",
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n  namespace: prod\n":                     `is in namespace "prod"`,
		"apiVersion: v1\nkind: ConfigMap\nmetadata: [\n":                                                         "a.yaml",
	} {
		_, err := ReadUserConfig(writeConfig(t, map[string]string{"a.yaml": files}))
		assert.ErrorContains(t, err, want, files)
	}
	_, err = ReadUserConfig(t.TempDir())
	assert.ErrorContains(t, err, "has no .yaml file")
	_, err = ReadUserConfig(writeConfig(t, map[string]string{
		"a.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: team\n",
		"b.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: team\n"}))
	assert.ErrorContains(t, err, "AppProject/team is also in")
}

// prefixRewriter maps one URL prefix to another, as a scenario's rewrite
// table maps the user's Git host to its own Git server.
type prefixRewriter struct{ from, to string }

func (r prefixRewriter) Rewrite(u string) (string, error) {
	if !strings.HasPrefix(u, r.from) {
		return "", fmt.Errorf("%s is not mapped", u)
	}
	return r.to + strings.TrimPrefix(u, r.from), nil
}

// A project's settings are read once and applied in every scenario: each
// scenario's AppProjects must permit its own Git server, not the first
// scenario's.
func TestApplyUserConfigMapsEachScenariosOwnGitServer(t *testing.T) {
	c, err := ReadUserConfig(writeConfig(t, map[string]string{
		"team.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: team\nspec:\n  sourceRepos: ['https://git.example.com/platform/*', '*']\n",
	}))
	require.NoError(t, err)
	for _, port := range []string{"1111", "2222"} {
		e, dyn := kubectlEngine(t)
		_, err := e.ApplyUserConfig(t.Context(), c, prefixRewriter{from: "https://git.example.com/", to: "http://127.0.0.1:" + port + "/"})
		require.NoError(t, err)
		ps := patches(dyn)
		require.Len(t, ps, 1)
		assert.Contains(t, string(ps[0].GetPatch()), `"sourceRepos":["http://127.0.0.1:`+port+`/platform/*","*"]`)
	}
	repos, _, _ := unstructured.NestedStringSlice(c.projects[0].Object, "spec", "sourceRepos")
	assert.Equal(t, []string{"https://git.example.com/platform/*", "*"}, repos, "the config read stays as written")

	_, err = (&Engine{}).ApplyUserConfig(t.Context(), c, prefixRewriter{from: "https://other.example.com/", to: "http://127.0.0.1:1/"})
	assert.ErrorContains(t, err, "spec.sourceRepos[0]: https://git.example.com/platform/* is not mapped", "refused before anything is applied")
}
