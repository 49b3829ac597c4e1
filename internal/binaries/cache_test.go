package binaries

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
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

// TestFilesOnlyRecipeCopiesFromTheModule serves a module from a file://
// proxy and takes its manifests without building anything.
func TestFilesOnlyRecipeCopiesFromTheModule(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the go command")
	}
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/crds\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(src, "config", "crd"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "config", "crd", "a.yaml"), []byte("kind: CustomResourceDefinition\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "README.md"), []byte("not wanted\n"), 0o644))

	proxy := t.TempDir()
	at := filepath.Join(proxy, "example.com", "crds", "@v")
	require.NoError(t, os.MkdirAll(at, 0o755))
	v := module.Version{Path: "example.com/crds", Version: "v1.0.0"}
	zf, err := os.Create(filepath.Join(at, "v1.0.0.zip"))
	require.NoError(t, err)
	require.NoError(t, modzip.CreateFromDir(zf, v, src))
	require.NoError(t, zf.Close())
	require.NoError(t, os.WriteFile(filepath.Join(at, "v1.0.0.mod"), []byte("module example.com/crds\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, "v1.0.0.info"), []byte(`{"Version":"v1.0.0"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, "list"), []byte("v1.0.0\n"), 0o644))
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(proxy))
	t.Setenv("GONOSUMDB", "example.com")
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOMODCACHE", t.TempDir())

	r := Recipe{Name: "crds", Module: "example.com/crds", Version: "v1.0.0", Files: []string{"config/crd"}}
	c := &Cache{Root: t.TempDir()}
	dir, err := c.Ensure(context.Background(), r)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "config", "crd", "a.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "kind: CustomResourceDefinition\n", string(b))
	assert.NoFileExists(t, filepath.Join(dir, "README.md"))
	assert.True(t, c.Built(r))
	assert.NoDirExists(t, filepath.Join(c.Root, "src", r.Key()), "no wrapper module for a recipe without commands")
}
