package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/steps"
)

func TestInitWritesAProjectWhoseStepsAllExist(t *testing.T) {
	dir := t.TempDir()
	files, err := writeScaffold(dir)
	require.NoError(t, err)
	assert.Contains(t, files, "features/hello.feature")
	for _, f := range files {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	require.NoError(t, steps.CheckSteps([]string{filepath.Join(dir, "features")}))
}

func TestInitNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "features"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "features", "hello.feature"), []byte("mine"), 0o644))
	_, err := writeScaffold(dir)
	assert.ErrorContains(t, err, "already has features/hello.feature; nothing was written")
	assert.NoFileExists(t, filepath.Join(dir, "README.md"), "nothing is half-written")
	b, _ := os.ReadFile(filepath.Join(dir, "features", "hello.feature"))
	assert.Equal(t, "mine", string(b))
}
