package binaries

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestFirstBuildIsRecordedStepByStep builds a real (tiny) program from a
// file:// proxy and reads back what the cache recorded of that build.
func TestFirstBuildIsRecordedStepByStep(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the go command")
	}
	src := writeTree(t, map[string]string{
		"go.mod":            "module example.com/tool\n\ngo 1.26\n",
		"cmd/hello/main.go": "package main\n\nfunc main() { println(\"hello\") }\n",
	})
	serveModule(t, src, module.Version{Path: "example.com/tool", Version: "v1.0.0"})

	r := Recipe{Name: "tool", Module: "example.com/tool", Version: "v1.0.0",
		Commands: []Command{{Package: "example.com/tool/cmd/hello", Binary: "hello"}}}
	c := &Cache{Root: t.TempDir()}
	before, err := c.BuildTimes()
	require.NoError(t, err)
	assert.Empty(t, before, "an empty cache has no records")
	_, err = c.Ensure(context.Background(), r)
	require.NoError(t, err)
	_, err = c.Ensure(context.Background(), r) // cached: nothing more is recorded
	require.NoError(t, err)

	got, err := c.BuildTimes()
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "tool-v1.0.0", got[0].Recipe)
	require.Len(t, got[0].Steps, 2)
	assert.Equal(t, "download and tidy", got[0].Steps[0].Step)
	assert.Equal(t, "go build hello", got[0].Steps[1].Step)
	for _, s := range got[0].Steps {
		assert.Positive(t, s.Duration)
		assert.Positive(t, s.Cores)
		assert.WithinDuration(t, time.Now(), s.Finished, time.Minute)
	}
	assert.Equal(t, got[0].Steps[0].Duration+got[0].Steps[1].Duration, got[0].Total())

	// A recipe cached before records were kept is listed without steps; a
	// damaged record is an error naming its file and line.
	require.NoError(t, os.MkdirAll(filepath.Join(c.Root, "bin", "old-v0.1.0"), 0o755))
	got, err = c.BuildTimes()
	require.NoError(t, err)
	assert.Equal(t, "old-v0.1.0", got[0].Recipe)
	assert.Empty(t, got[0].Steps)
	require.NoError(t, os.WriteFile(filepath.Join(c.Root, "bin", "old-v0.1.0", buildTimesFile), []byte("{not json\n"), 0o644))
	_, err = c.BuildTimes()
	assert.ErrorContains(t, err, filepath.Join("old-v0.1.0", buildTimesFile)+":1")
}

// writeTree writes files (slash-separated paths) into a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return dir
}

// serveModule zips the module in src into a file:// proxy the go command
// uses for the rest of the test.
func serveModule(t *testing.T, src string, v module.Version) {
	t.Helper()
	proxy := t.TempDir()
	at := filepath.Join(proxy, filepath.FromSlash(v.Path), "@v")
	require.NoError(t, os.MkdirAll(at, 0o755))
	zf, err := os.Create(filepath.Join(at, v.Version+".zip"))
	require.NoError(t, err)
	require.NoError(t, modzip.CreateFromDir(zf, v, src))
	require.NoError(t, zf.Close())
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(at, v.Version+".mod"), gomod, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, v.Version+".info"), []byte(`{"Version":"`+v.Version+`"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, "list"), []byte(v.Version+"\n"), 0o644))
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(proxy))
	t.Setenv("GONOSUMDB", "example.com")
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOMODCACHE", t.TempDir())
}

// TestFilesOnlyRecipeCopiesFromTheModule serves a module from a file://
// proxy and takes its manifests without building anything.
func TestFilesOnlyRecipeCopiesFromTheModule(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the go command")
	}
	src := writeTree(t, map[string]string{
		"go.mod":            "module example.com/crds\n\ngo 1.26\n",
		"config/crd/a.yaml": "kind: CustomResourceDefinition\n",
		"README.md":         "not wanted\n",
	})

	serveModule(t, src, module.Version{Path: "example.com/crds", Version: "v1.0.0"})

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
