package steps

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/rehearse/rehearse/fixtures/gitserver"
	"github.com/rehearse/rehearse/fixtures/workspace"
	"github.com/rehearse/rehearse/internal/await"
)

func (w *World) gitSteps() []StepDef {
	return []StepDef{
		{Pattern: `^the seed's GitLab "([^"]*)" is served by the local Git server$`,
			Doc:     "Adds a rewrite rule: URLs under this production prefix are mapped to the local Git server before any component sees them. Unmapped non-loopback URLs are refused.",
			Example: `Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server`,
			Fn:      w.mapGitLab},
		{Pattern: `^Argo CD has repository credentials for "([^"]*)"$`,
			Doc:     "Registers the Git server's argocd account as Argo CD repo-creds for every repository under the (rewritten) URL prefix.",
			Example: `Given Argo CD has repository credentials for "http://192.168.0.11:7780/"`,
			Fn:      w.argoCredentials},
		{Pattern: `^the developer pushes a commit to branch "([^"]*)" of "([^"]*)" that replaces "([^"]*)" with:$`,
			Doc:     "Clones the repository as the developer (go-git), creates the branch from main if needed, replaces the file with the doc string, commits and pushes.",
			Example: `Given the developer pushes a commit to branch "broken" of "root/q-sign" that replaces "helm/keycloak-pqc/templates/configmap.yaml" with:`,
			Fn:      w.pushFileChange},
		{Pattern: `^the Git server is down$`,
			Doc:     "Stops the scenario's Git server; its URL stays mapped, so clients get connection refused.",
			Example: `Given the Git server is down`,
			Fn:      w.gitServerDown},
		{Pattern: `^within (\d+)s Argo CD has cloned "([^"]*)" from the Git server$`,
			Doc:     "Waits until the Git server has served an upload-pack fetch (objects, not only the ref advertisement) of the repository to Argo CD's account.",
			Example: `Then within 30s Argo CD has cloned "root/q-sign" from the Git server`,
			Fn:      w.argoCloned},
	}
}

// hostContent creates repo on the scenario's Git server with content as
// one commit on main, and remembers that commit as the initial one.
func (w *World) hostContent(repo string, content fs.FS, from string) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	sha, err := s.CreateRepo(repo, "main", content, adminUser, "Initial import of "+from)
	if err != nil {
		return err
	}
	w.rememberInitial(repo, sha)
	return nil
}

func (w *World) rememberInitial(repo, sha string) {
	w.commits["initial"] = sha
	w.commits["initial "+repo] = sha
}

func (w *World) mapGitLab(ctx context.Context, prefix string) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	if !strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("prefix %q must end with /", prefix)
	}
	return w.rewriter.Map(prefix, s.URL()+"/")
}

func (w *World) argoCredentials(ctx context.Context, prefix string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	name := "rehearse-repo-creds-" + w.id
	if err := e.AddRepositoryCredentials(ctx, name, prefix, argocdUser, w.passwords[argocdUser], w.rewriter); err != nil {
		return err
	}
	w.secrets = append(w.secrets, name)
	return nil
}

func (w *World) pushFileChange(ctx context.Context, branch, repo, path string, content *godog.DocString) error {
	return w.pushChange(ctx, "Change "+path, repo, branch, func(ws *workspace.Workspace) error {
		return ws.WriteFile(path, []byte(content.Content+"\n"))
	})
}

func (w *World) gitServerDown(ctx context.Context) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	return s.Close()
}

func (w *World) argoCloned(ctx context.Context, seconds int, repo string) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, "Argo CD to clone "+repo, time.Duration(seconds)*time.Second, func(context.Context) await.Result {
		return cloned(s.Accesses(repo), repo, argocdUser)
	})
	return err
}

// cloned passes once user fetched objects from repo: a successful
// upload-pack request, not the ref advertisement before it (which only
// lists the branches, as git ls-remote does).
func cloned(accesses []gitserver.Access, repo, user string) await.Result {
	for _, a := range accesses {
		if a.User == user && a.Service == "git-upload-pack" && a.Status == 200 && !a.IsRefAdvertisement() {
			return await.Passed("%s fetched by %s (%s)", repo, a.User, a.UserAgent)
		}
	}
	return await.Waiting("%d requests for %s, none an upload-pack fetch by %s", len(accesses), repo, user)
}
