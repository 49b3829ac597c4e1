package podruntime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"

	"github.com/rehearse/rehearse/internal/binaries"
)

// The helper is built in a module of its own; its requirements must be the
// versions this module uses, or a build would fetch (and test) other code
// than the one tested here.
func TestHelperModuleMatchesRehearse(t *testing.T) {
	mainMod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	main, err := modfile.Parse("go.mod", mainMod, nil)
	require.NoError(t, err)
	helperMod, err := helperSource.ReadFile("container/_go.mod")
	require.NoError(t, err)
	helper, err := modfile.Parse("_go.mod", helperMod, nil)
	require.NoError(t, err)
	versions := map[string]string{}
	for _, r := range main.Require {
		versions[r.Mod.Path] = r.Mod.Version
	}
	for _, r := range helper.Require {
		if r.Indirect {
			continue
		}
		assert.Equal(t, versions[r.Mod.Path], r.Mod.Version, "%s in container/_go.mod", r.Mod.Path)
	}
}

func TestBuildHelper(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program (about 25 s cold)")
	}
	cache := &binaries.Cache{Root: t.TempDir()}
	bin, err := BuildHelper(t.Context(), cache)
	require.NoError(t, err)
	st, err := os.Stat(bin)
	require.NoError(t, err)
	again, err := BuildHelper(t.Context(), cache)
	require.NoError(t, err)
	assert.Equal(t, bin, again)
	st2, err := os.Stat(again)
	require.NoError(t, err)
	assert.Equal(t, st.ModTime(), st2.ModTime(), "an unchanged helper is not built again")
	times, err := cache.BuildTimes()
	require.NoError(t, err)
	require.Len(t, times, 1)
	assert.Equal(t, "go build "+HelperName, times[0].Steps[0].Step, "its first build's time is recorded, as the recipes' are")
}

// Every source file of the program is embedded: one left out builds here
// (it is a package of this module) and fails only in the cached build.
func TestHelperEmbedsEverySourceFile(t *testing.T) {
	files, err := filepath.Glob("container/*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		_, err := helperSource.ReadFile(filepath.ToSlash(f))
		assert.NoError(t, err, "%s is not in helperSource's go:embed line", f)
	}
}
