package binaries

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const upstreamGoMod = `module example.com/upstream

go 1.25.5

require k8s.io/api v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	example.com/sibling => ../sibling
	// pinned upstream for a CVE
	gopkg.in/yaml.v2 => gopkg.in/yaml.v2 v2.4.0
)
`

func TestWrapperGoModTranslatesReplaces(t *testing.T) {
	r := Recipe{Name: "up", Module: "example.com/upstream", Version: "v1.2.3", StagingVersion: "v0.37.2",
		Commands: []Command{{Package: "example.com/upstream/cmd/x", Binary: "x"}}}
	out, err := WrapperGoMod(r, []byte(upstreamGoMod))
	require.NoError(t, err)
	s := string(out)
	assert.Contains(t, s, "module rehearse.local/build/up")
	assert.Contains(t, s, "go 1.25.5")
	assert.Contains(t, s, "require example.com/upstream v1.2.3")
	assert.Contains(t, s, "k8s.io/api => k8s.io/api v0.37.2")
	assert.Contains(t, s, "gopkg.in/yaml.v2 => gopkg.in/yaml.v2 v2.4.0")
	assert.NotContains(t, s, "sibling", "local sibling replaces must be dropped")
	assert.NotContains(t, s, "./staging")
}

func TestWrapperGoModWithoutStagingDropsLocalReplaces(t *testing.T) {
	r := Recipe{Name: "up", Module: "example.com/upstream", Version: "v1.2.3",
		Commands: []Command{{Package: "example.com/upstream/cmd/x", Binary: "x"}}}
	out, err := WrapperGoMod(r, []byte(upstreamGoMod))
	require.NoError(t, err)
	assert.NotContains(t, string(out), "k8s.io/api =>")
}

func TestWrapperGoModRejectsGarbage(t *testing.T) {
	_, err := WrapperGoMod(Recipe{Name: "x", Module: "m", Version: "v1.0.0"}, []byte("module (\n"))
	require.Error(t, err)
}

func TestEnsureSkipsBuiltBinariesWithoutRunningGo(t *testing.T) {
	root := t.TempDir()
	r := Recipe{Name: "fake", Module: "example.invalid/never", Version: "v9.9.9",
		Commands: []Command{{Package: "example.invalid/never/cmd/a", Binary: "a"}}}
	c := &Cache{Root: root}
	require.NoError(t, os.MkdirAll(c.BinDir(r), 0o755))
	require.NoError(t, os.WriteFile(c.Path(r, "a"), []byte("#!/bin/sh\n"), 0o755))
	// The module does not exist: any attempt to build would fail.
	dir, err := c.Ensure(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "bin", "fake-v9.9.9"), dir)
}

func TestEnsureReportsTheGoCommandsOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the go command")
	}
	root := t.TempDir()
	r := Recipe{Name: "missing", Module: "example.invalid/never", Version: "v9.9.9",
		Commands: []Command{{Package: "example.invalid/never/cmd/a", Binary: "a"}}}
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	_, err := (&Cache{Root: root}).Ensure(context.Background(), r)
	var be *BuildError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, "download example.invalid/never", be.Step)
	assert.True(t, strings.Contains(be.Output, "example.invalid/never"), be.Output)
}
