package steps

import (
	"os"
	"path/filepath"
	"testing"

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
