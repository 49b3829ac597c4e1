package steps

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadProject(t *testing.T) {
	p, err := ReadProject(t.TempDir())
	require.NoError(t, err)
	assert.Nil(t, p, "no rehearse.yaml: no project settings")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ProjectFile), []byte(
		"timeScale: 30\ngitHosts:\n  - https://git.example.com\nstandIns: [\"docker.io/*\"]\nfeatures: [features, go-steps]\n"), 0o644))
	p, err = ReadProject(dir)
	require.NoError(t, err)
	assert.Equal(t, 30.0, p.TimeScale)
	assert.Equal(t, []string{"https://git.example.com"}, p.GitHosts)
	assert.Equal(t, []string{"docker.io/*"}, p.StandIns)
	assert.Equal(t, []string{"features", "go-steps"}, p.Features)

	for text, want := range map[string]string{
		"timeScale: 30\nstandin: [nginx]\n": "line 2: field standin not found",
		"timeScale: fast\n":                 "line 1: cannot unmarshal !!str `fast`",
		"gitHosts: [\n":                     ProjectFile,
		"timeScale: -1\n":                   "timeScale -1 is negative",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ProjectFile), []byte(text), 0o644))
		_, err := ReadProject(dir)
		assert.ErrorContains(t, err, want, text)
		assert.ErrorContains(t, err, filepath.Join(dir, ProjectFile))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, ProjectFile), []byte("# nothing yet\n"), 0o644))
	p, err = ReadProject(dir)
	require.NoError(t, err)
	assert.NotNil(t, p)
}

func TestReadProjectReadsStandInBehavioursAndArgoCDSettingsBeforeAnythingStarts(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "argocd"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "argocd", "cm.yaml"), []byte(
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\ndata:\n  statusbadge.enabled: \"true\"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ProjectFile), []byte(
		"standIns: [\"docker.io/*\"]\nstandInUnserved: true\nstandInBehaviours:\n  nginx: {latency: 20ms}\n  \"nginx:1.28\": {errorRate: 0.5}\nargocd: argocd\n"), 0o644))
	p, err := ReadProject(dir)
	require.NoError(t, err)
	require.Len(t, p.StandInBehaviours, 2)
	assert.Equal(t, "nginx", p.StandInBehaviours[0].Pattern, "the file's order: a later pattern wins")
	assert.Equal(t, 20*time.Millisecond, p.StandInBehaviours[0].Behaviour.Latency)
	assert.Equal(t, "nginx:1.28", p.StandInBehaviours[1].Pattern)
	assert.Equal(t, 0.5, p.StandInBehaviours[1].Behaviour.ErrorRate)
	assert.NotNil(t, p.argoCD, "the settings are read when the project is")
	assert.True(t, p.StandInUnserved)

	for text, want := range map[string]string{
		"standInBehaviours:\n  nginx: {errorRate: 2}\n": "line 2: nginx: stand-in behaviour: errorRate 2 is not between 0 and 1",
		"standInBehaviours:\n  nginx: {latncy: 20ms}\n": "line 2: nginx: stand-in behaviour",
		"standInBehaviours: [nginx]\n":                  "line 1: standInBehaviours is a mapping",
		"argocd: missing\n":                             "argocd:",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ProjectFile), []byte(text), 0o644))
		_, err := ReadProject(dir)
		assert.ErrorContains(t, err, want, text)
		assert.ErrorContains(t, err, filepath.Join(dir, ProjectFile))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "argocd", "cm.yaml"), []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: oops\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ProjectFile), []byte("argocd: argocd\n"), 0o644))
	_, err = ReadProject(dir)
	assert.ErrorContains(t, err, "cm.yaml", "a wrong settings file is refused with its name before the run")
}
