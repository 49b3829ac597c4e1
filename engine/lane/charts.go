package lane

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rehearse/rehearse/fixtures/helmrepo"
	"github.com/rehearse/rehearse/fixtures/registry"
	"github.com/rehearse/rehearse/internal/loopback"
)

// PushHelmCharts pushes every chart in dir to the lane's registry under
// path (project[/more]), as `helm push` does (helmrepo.PushOCI), and lets
// Argo CD's registry account (RegistryArgoCD) pull from the project. The
// project must exist.
func (l *Lane) PushHelmCharts(ctx context.Context, dir, path string) ([]helmrepo.OCIChart, error) {
	project, _, _ := strings.Cut(path, "/")
	if err := l.registry.AddMember(project, RegistryArgoCD, registry.RoleGuest); err != nil {
		return nil, err
	}
	var d loopback.Dialer
	return helmrepo.PushOCI(ctx, dir, l.registry.Host()+"/"+path,
		remote.WithTransport(&http.Transport{DialContext: d.DialContext}),
		remote.WithAuth(&authn.Basic{Username: RegistryAdmin, Password: l.registryPasswords[RegistryAdmin]}))
}
