package lane

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Secret is a credential a run used, named for messages: the value itself
// is never printed.
type Secret struct {
	Name  string
	Value string
}

// Credentials are the lane's credentials: registry accounts and Argo CD's
// admin password, for leak checks of the run's logs and report.
func (l *Lane) Credentials() []Secret {
	var out []Secret
	for u, p := range l.registryPasswords {
		out = append(out, Secret{Name: "registry password of " + u, Value: p})
	}
	if l.engine != nil {
		out = append(out, Secret{Name: "Argo CD admin password", Value: l.engine.AdminPassword()})
	}
	return out
}

// FindSecrets lists "file: secret name" for every file under dir that
// contains one of the secrets' values.
func FindSecrets(dir string, secrets []Secret) ([]string, error) {
	return findSecrets(dir, secrets, func(string) bool { return true })
}

// findSecretsInLogs is FindSecrets over *.log files only: a component's
// data (etcd's, where Kubernetes Secrets rightly hold credentials) is not
// a log.
func findSecretsInLogs(dir string, secrets []Secret) ([]string, error) {
	return findSecrets(dir, secrets, func(path string) bool { return strings.HasSuffix(path, ".log") })
}

func findSecrets(dir string, secrets []Secret, scan func(path string) bool) ([]string, error) {
	var leaks []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() || !scan(path) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil // a file removed while walking (a pod's log)
		}
		for _, s := range secrets {
			if len(s.Value) >= 6 && bytes.Contains(b, []byte(s.Value)) {
				leaks = append(leaks, path+": "+s.Name)
			}
		}
		return nil
	})
	sort.Strings(leaks)
	return leaks, err
}
