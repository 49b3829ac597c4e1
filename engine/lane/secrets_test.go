package lane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFindSecretsNamesTheFileAndCredentialNotTheValue(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "logs", "repo-server.log"), []byte("auth with s3cr3t-value ok\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "summary.json"), []byte(`{"passed": 1}`), 0o644))
	leaks, err := FindSecrets(dir, []Secret{{Name: "registry password of jenkins", Value: "s3cr3t-value"}, {Name: "short", Value: "ab"}})
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "logs", "repo-server.log") + ": registry password of jenkins"}, leaks)
	require.False(t, strings.Contains(strings.Join(leaks, ""), "s3cr3t-value"))

	none, err := FindSecrets(filepath.Join(dir, "missing"), []Secret{{Name: "x", Value: "s3cr3t-value"}})
	require.NoError(t, err)
	require.Empty(t, none)
}

func TestComponentScansReadOnlyLogs(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "db"), []byte("s3cr3t-value"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "argocd-server.log"), []byte("s3cr3t-value"), 0o644))
	leaks, err := findSecretsInLogs(dir, []Secret{{Name: "p", Value: "s3cr3t-value"}})
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "argocd-server.log") + ": p"}, leaks)
}
