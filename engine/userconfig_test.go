package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
