package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAcceptedNeedsAComparisonOfExactlyTheSpec(t *testing.T) {
	now := time.Now()
	src := ApplicationSource{RepoURL: "http://127.0.0.1:1/root/q-sign.git", Path: "helm/keycloak-pqc", TargetRevision: "main"}
	dest := Destination{Server: "https://kubernetes.default.svc", Namespace: "q-sign"}
	app := func(edit func(*Application)) *Application {
		a := &Application{Name: "q-sign", Spec: ApplicationSpec{Source: &src, Destination: dest}}
		compared := src
		a.Status.Sync.ComparedTo = &ComparedTo{Source: &compared, Destination: dest}
		a.Status.ReconciledAt = &now
		if edit != nil {
			edit(a)
		}
		return a
	}
	assert.NoError(t, app(nil).Accepted())
	for name, tc := range map[string]struct {
		edit func(*Application)
		want string
	}{
		"not reconciled": {func(a *Application) { a.Status.Sync.ComparedTo = nil }, "was not compared yet"},
		"invalid spec": {func(a *Application) {
			a.Status.Conditions = []Condition{{Type: "InvalidSpecError", Message: "project no-such-project not found"}}
		}, "InvalidSpecError: project no-such-project not found"},
		"compared against an older source": {func(a *Application) {
			old := src
			old.TargetRevision = "v1"
			a.Status.Sync.ComparedTo.Source = &old
		}, "not its spec's"},
		"another destination": {func(a *Application) { a.Status.Sync.ComparedTo.Destination.Namespace = "other" }, "destination"},
	} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorContains(t, app(tc.edit).Accepted(), tc.want)
		})
	}
}
