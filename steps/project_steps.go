package steps

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/fixtures"
	"github.com/rehearse/rehearse/fixtures/ci"
	"github.com/rehearse/rehearse/fixtures/helmrepo"
	"github.com/rehearse/rehearse/fixtures/registry"
	"github.com/rehearse/rehearse/fixtures/traffic"
	"github.com/rehearse/rehearse/internal/await"
)

// projectSteps bring a user's own project in: Git content from their
// folders, any Git host mapped, and images stood in when declared.
func (w *World) projectSteps() []StepDef {
	return []StepDef{
		{Pattern: `^the Git server hosts "([^"]*)" from the folder "([^"]*)"$`,
			Doc: "Creates repository owner/name on the scenario's Git server with the folder's files (relative to the feature file, " +
				"else to the directory Rehearse runs in; .git left out) as one commit on main.",
			Example: `Given the Git server hosts "platform/gitops" from the folder "gitops"`,
			Fn:      w.gitServerHostsFolder},
		{Pattern: `^the Git server hosts "([^"]*)" from the Git repository "([^"]*)"$`,
			Doc: "Creates repository owner/name on the scenario's Git server from a local Git repository (relative to the feature file, " +
				"else the project root) with its history: every branch and tag. Remembers main's head (else the checked-out branch's).",
			Example: `Given the Git server hosts "platform/gitops" from the Git repository "../gitops"`,
			Fn:      w.gitServerImports},
		{Pattern: `^"([^"]*)" is served by the local Git server$`,
			Doc: "Maps a Git host (scheme, host and optional path prefix) to the scenario's Git server: repository URLs under it, " +
				"in Applications and for Argo CD, reach the local server instead. Unmapped non-loopback URLs are refused.",
			Example: `Given "https://git.example.com" is served by the local Git server`,
			Fn:      w.mapGitHost},
		{Pattern: `^"([^"]*)" is served by the local registry$`,
			Doc: "Maps a registry host (host or host:port, as image references name it) to the scenario's registry: the nodes pull " +
				"from it and pushes reach it. Several hosts may be mapped; the first one empties the registry for the scenario.",
			Example: `Given "registry.example.com" is served by the local registry`,
			Fn:      w.mapRegistryHost},
		{Pattern: folderImageStep.String(),
			Doc: "Builds the folder (relative to the feature file, else the project root) released as the reference's tag, pushes it as " +
				"[mapped host/]project/repository:tag and waits for the registry's scan. A folder with a pipeline.yaml is built as that " +
				"pipeline builds it, up to its image stage, with the stage's tagFile set to the tag (so the service knows its release). " +
				"Any other folder is a Go main package (its own module), built as a static binary on an empty base with entrypoint " +
				"/usr/local/bin/<folder name>. The compiler's errors fail the step as they are. A project that does not exist is created private.",
			Example: `Given the registry holds "registry.example.com/team/api:v2" built from the folder "services/api"`,
			Fn:      w.imageFromFolder},
		{Pattern: folderImageWithFileStep.String(),
			Doc: "Like the plain folder build, with one file of the folder (a path relative to it) replaced by the doc string for this " +
				"build only; the folder is not written to. A .json, .yaml or .yml file must parse.",
			Example: "Given the registry holds \"qsign-prod/app:v1.0.2\" built from the folder \"../fixtures/repos/q-sign-app\" with its \"behaviour.json\" reading:\n  \"\"\"\n  {\"errorRate\": 1}\n  \"\"\"",
			Fn:      w.imageFromFolderWithFile},
		{Pattern: `^the registry holds "([^"]*)" from the image file "([^"]*)"$`,
			Doc: "Pushes an image built elsewhere (relative to the feature file, else the project root): a `docker save` tarball, an OCI " +
				"archive or an OCI image layout directory, gzip-compressed or not. A file of several images gives the one saved under the " +
				"reference's repository and tag (any registry). The image must be linux on this machine's architecture: its programs run " +
				"here. A project that does not exist is created private.",
			Example: `Given the registry holds "registry.example.com/team/api:v2" from the image file "images/api.tar"`,
			Fn:      w.imageFromFile},
		{Pattern: `^the Helm repository "([^"]*)" serves the charts in "([^"]*)"$`,
			Doc: "Packages every chart in the folder (the folder itself if it is a chart, else each directory with a Chart.yaml, and any .tgz) " +
				"and serves them with an index.yaml as a Helm repository on 127.0.0.1; the repository's URL is mapped to it, so Applications " +
				"with chart: and that repoURL fetch from it. A chart that does not load fails the step, named.",
			Example: `Given the Helm repository "https://charts.example.com" serves the charts in "charts"`,
			Fn:      w.serveHelmRepository},
		{Pattern: `^the Helm charts in "([^"]*)" are pushed to "(oci://[^"]*)"$`,
			Doc: "Packages every chart in the folder (as for a Helm repository) and pushes each as `helm push` does, to " +
				"<URL>/<chart name> tagged with its version, in the scenario's registry: the URL's host must be a mapped registry host. " +
				"Applications with repoURL oci://<host>/<path>/<chart> (path: .) then get it through Argo CD's OCI source, which pulls " +
				"as the registry's argocd account. A chart that does not load fails the step, named, and nothing is pushed.",
			Example: `Given the Helm charts in "charts" are pushed to "oci://registry.example.com/charts"`,
			Fn:      w.pushHelmChartsOCI},
		{Pattern: `^the users read the version from the (header|JSON field) "([^"]*)"(?: of "([^"]*)")?$`,
			Doc: "How the users of later traffic steps, the \"serves only\" check, the integration tests and the smoke test tell which version answered: a response header, or a field of a JSON body " +
				"(dotted for a nested one), optionally asking a path other than /. Default: the X-Version header, else the body's \"version\" " +
				"(what q-sign and the stand-ins send).",
			Example: `Given the users read the version from the JSON field "build.version" of "/api/info"`,
			Fn:      w.readVersionFrom},
		{Pattern: `^Argo CD is configured from "([^"]*)"$`,
			Doc: "Reads every .yaml file of the folder (beside the feature file, else the project root): the keys of the ConfigMaps " +
				"argocd-cm, argocd-rbac-cm, argocd-notifications-cm and argocd-cmd-params-cm are merged over Rehearse's, and AppProjects " +
				"are created (their sourceRepos mapped like repoURLs). Anything else, or a key Rehearse sets from the time scale, is refused " +
				"before anything is applied. " +
				"Everything is put back when the scenario ends.",
			Example: `Given Argo CD is configured from "argocd"`,
			Fn:      w.configureArgoCD},
		{Pattern: `^the admin applies the ApplicationSet "([^"]*)"$`,
			Doc: "Applies an ApplicationSet YAML file (beside the feature file, else the project root), every repoURL and every URL of its " +
				"generators rewritten like an Application's (refused if unmapped). Starts Argo CD's ApplicationSet controller on first use. " +
				"At the scenario's end the set is deleted, then each Application it generated, with what it deployed.",
			Example: `When the admin applies the ApplicationSet "applications/environments.yaml"`,
			Fn:      w.applyApplicationSet},
		{Pattern: `^within (\d+)s the ApplicationSet "([^"]*)" has generated exactly the applications "([^"]*)"$`,
			Doc:     "Waits until the Applications the set owns are exactly these (comma-separated).",
			Example: `Then within 30s the ApplicationSet "shop" has generated exactly the applications "shop-dev, shop-prod"`,
			Fn:      w.appSetGenerated},
		{Pattern: `^images matching "([^"]*)" are stood in$`,
			Doc: "Containers whose image matches (\"*\" matches anything, \"/\" included; \"nginx\" is also docker.io/library/nginx) run " +
				"Rehearse's stand-in instead of a pulled image: HTTP 200 on every container and probe port, /metrics, probes pass, " +
				"sh -c commands run in Rehearse's shell. The pod's events say \"stand-in for IMAGE\". Other images must come from a registry.",
			Example: `Given images matching "docker.io/*" are stood in`,
			Fn:      w.standIn},
		{Pattern: `^the stand-ins for "([^"]*)" behave:$`,
			Doc: "Sets how stand-ins of matching images (a pattern as above; a tag, such as \"web:v2\", narrows it) behave, in YAML or JSON: " +
				"notReady, errorRate (0 to 1, spread evenly), latency, exitAfter and exitCode, shutdownDelay (how long it drains after SIGTERM; " +
				"default 2 s at most, 0s: none). Later settings win.",
			Example: `Given the stand-ins for "ghcr.io/acme/web:v2" behave:`,
			Fn:      w.standInBehaviour},
		{Pattern: `^every image no registry here serves is stood in$`,
			Doc: "Opts in, for this scenario, to standing in each image whose registry host is not mapped or whose mapped registry has no " +
				"such repository or tag, instead of failing its pull. An image a registry has is still pulled; a refused login is never " +
				"stood in. The pod's events name each image stood in this way, with the pull's error. rehearse.yaml's standInUnserved: true " +
				"does it for every scenario.",
			Example: `Given every image no registry here serves is stood in`,
			Fn:      w.standInUnserved},
	}
}

func (w *World) gitServerHostsFolder(ctx context.Context, repo, folder string) error {
	dir, err := fixtures.Locate(folder, w.featureDir, w.projectDir)
	if err != nil {
		return fmt.Errorf("the folder for %s: %w", repo, err)
	}
	content, err := fixtures.Folder(dir)
	if err != nil {
		return fmt.Errorf("the folder for %s: %w", repo, err)
	}
	return w.hostContent(repo, content, folder)
}

func (w *World) mapGitHost(ctx context.Context, prefix string) error {
	if !strings.HasPrefix(prefix, "http://") && !strings.HasPrefix(prefix, "https://") {
		return fmt.Errorf("%q: give the Git host as a URL, such as \"https://git.example.com\"", prefix)
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return w.mapGitLab(ctx, prefix)
}

func (w *World) standIn(ctx context.Context, pattern string) error {
	w.undoStandIns()
	return w.env.StandIns().Declare(pattern)
}

func (w *World) standInUnserved(ctx context.Context) error {
	w.undoStandIns()
	w.env.StandIns().StandInUnserved()
	return nil
}

func (w *World) standInBehaviour(ctx context.Context, pattern string, doc *godog.DocString) error {
	b, err := podruntime.ParseStandInBehaviour([]byte(doc.Content))
	if err != nil {
		return err
	}
	w.undoStandIns()
	return w.env.StandIns().SetBehaviour(pattern, b)
}

// undoStandIns forgets the scenario's stand-ins when it ends: the next
// scenario on the lane declares its own.
func (w *World) undoStandIns() {
	if w.standInsSet {
		return
	}
	w.standInsSet = true
	w.undo = append(w.undo, func(context.Context) error { w.env.StandIns().Reset(); return nil })
}

// registryReference splits "host/project/repo:tag" (host one of the
// scenario's mapped registry hosts) or "project/repo:tag" (under the first
// mapped host) into the repository path and tag.
func (w *World) registryReference(reference string) (repoPath, tag string, err error) {
	if len(w.registryHosts) == 0 {
		return "", "", fmt.Errorf(`no registry host mapped yet: add "Given \"registry.example.com\" is served by the local registry"`)
	}
	path := reference
	if first, rest, ok := strings.Cut(reference, "/"); ok && strings.ContainsAny(first, ".:") {
		if !slices.Contains(w.registryHosts, first) {
			return "", "", fmt.Errorf("%q: the registry host %s is not mapped (mapped: %s)", reference, first, strings.Join(w.registryHosts, ", "))
		}
		path = rest
	}
	i := strings.LastIndex(path, ":")
	if i < 0 || !strings.Contains(path, "/") || i < strings.LastIndex(path, "/") {
		return "", "", fmt.Errorf("%q: give project/repository:tag", reference)
	}
	return path[:i], path[i+1:], nil
}

func (w *World) mapRegistryHost(ctx context.Context, host string) error {
	return w.mapHarbor(ctx, host)
}

func (w *World) imageFromFolder(ctx context.Context, reference, folder string) error {
	return w.buildFolderImage(ctx, reference, folder, nil)
}

func (w *World) imageFromFolderWithFile(ctx context.Context, reference, folder, file string, doc *godog.DocString) error {
	return w.buildFolderImage(ctx, reference, folder, map[string][]byte{file: []byte(doc.Content + "\n")})
}

func (w *World) buildFolderImage(ctx context.Context, reference, folder string, replaced map[string][]byte) error {
	repoPath, tag, err := w.registryProjectFor(ctx, reference)
	if err != nil {
		return err
	}
	dir, err := fixtures.Locate(folder, w.featureDir, w.projectDir)
	if err != nil {
		return fmt.Errorf("the folder of %s: %w", reference, err)
	}
	img, err := w.env.BuildFolder(ctx, dir, tag, replaced)
	if err != nil {
		return err
	}
	return w.pushImage(ctx, repoPath+":"+tag, img)
}

func (w *World) imageFromFile(ctx context.Context, reference, file string) error {
	repoPath, tag, err := w.registryProjectFor(ctx, reference)
	if err != nil {
		return err
	}
	path, err := fixtures.Locate(file, w.featureDir, w.projectDir)
	if err != nil {
		return fmt.Errorf("the image file of %s: %w", reference, err)
	}
	img, release, err := ci.LoadImageFile(path, reference)
	if err != nil {
		return fmt.Errorf("the image file of %s: %w", reference, err)
	}
	defer release()
	return w.pushImage(ctx, repoPath+":"+tag, img)
}

// registryProjectFor resolves a reference to the local registry's
// project/repository and tag, creating the project if the scenario did
// not: Harbor pushes need one. It is created private, readable by the
// nodes, and said in the report.
func (w *World) registryProjectFor(ctx context.Context, reference string) (repoPath, tag string, err error) {
	repoPath, tag, err = w.registryReference(reference)
	if err != nil {
		return "", "", err
	}
	reg, err := w.registry()
	if err != nil {
		return "", "", err
	}
	project, _, _ := strings.Cut(repoPath, "/")
	return repoPath, tag, w.ensureRegistryProject(ctx, reg, project, reference)
}

// ensureRegistryProject creates the project if the scenario did not, for
// what is pushed there, and says so in the report.
func (w *World) ensureRegistryProject(ctx context.Context, reg *registry.Server, project, forWhat string) error {
	if reg.HasProject(project) {
		return nil
	}
	if err := w.createProject(ctx, project); err != nil {
		return err
	}
	w.note("registry project %q created for %s (private; the nodes pull with their own login)", project, forWhat)
	return nil
}

func (w *World) serveHelmRepository(ctx context.Context, url, folder string) error {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return fmt.Errorf("%q: give the Helm repository as a URL, such as \"https://charts.example.com\"", url)
	}
	dir, err := fixtures.Locate(folder, w.featureDir, w.projectDir)
	if err != nil {
		return fmt.Errorf("the charts of %s: %w", url, err)
	}
	repo, err := helmrepo.Start(dir)
	if err != nil {
		return err
	}
	w.undo = append(w.undo, func(context.Context) error { return repo.Close() })
	for _, c := range repo.Charts() {
		w.note("Helm repository %s serves %s %s", url, c.Name, c.Version)
	}
	return w.rewriter.Map(strings.TrimSuffix(url, "/")+"/", repo.URL()+"/")
}

func (w *World) pushHelmChartsOCI(ctx context.Context, folder, url string) error {
	host, path, _ := strings.Cut(strings.TrimPrefix(url, "oci://"), "/")
	path = strings.Trim(path, "/")
	if !slices.Contains(w.registryHosts, host) {
		return fmt.Errorf("%s: the registry host %s is not mapped (add \"Given \\\"%s\\\" is served by the local registry\")", url, host, host)
	}
	if path == "" {
		return fmt.Errorf("%s: give a project, as in oci://%s/charts", url, host)
	}
	dir, err := fixtures.Locate(folder, w.featureDir, w.projectDir)
	if err != nil {
		return fmt.Errorf("the charts for %s: %w", url, err)
	}
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	reg, err := w.registry()
	if err != nil {
		return err
	}
	project, _, _ := strings.Cut(path, "/")
	if err := w.ensureRegistryProject(ctx, reg, project, url); err != nil {
		return err
	}
	pushed, err := w.env.PushHelmCharts(ctx, dir, path)
	if err != nil {
		return fmt.Errorf("pushing the charts in %s to %s: %w", folder, url, err)
	}
	for _, c := range pushed {
		w.note("registry holds Helm chart %s %s as %s/%s:%s", c.Name, c.Version, strings.TrimSuffix(url, "/"), c.Name, c.Tag)
	}
	name := "rehearse-oci-creds-" + w.id
	if err := e.AddOCICredentials(ctx, name, "oci://"+host+"/", lane.RegistryArgoCD, w.env.RegistryPassword(lane.RegistryArgoCD), true, w.rewriter); err != nil {
		return err
	}
	if !slices.Contains(w.secrets, name) { // a second push updated the same Secret
		w.secrets = append(w.secrets, name)
	}
	return nil
}

func (w *World) gitServerImports(ctx context.Context, repo, path string) error {
	dir, err := fixtures.Locate(path, w.featureDir, w.projectDir)
	if err != nil {
		return fmt.Errorf("the Git repository for %s: %w", repo, err)
	}
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	sha, err := s.ImportRepo(repo, dir)
	if err != nil {
		return err
	}
	w.rememberInitial(repo, sha)
	return nil
}

func (w *World) readVersionFrom(ctx context.Context, where, name, path string) error {
	if len(w.users) > 0 {
		return fmt.Errorf("users already send requests: say how they read the version before they start")
	}
	v := traffic.VersionReader{Path: path}
	if where == "header" {
		v.Header = name
	} else {
		v.JSONField = name
	}
	if err := v.Check(); err != nil {
		return err
	}
	w.versionReader = v
	return nil
}

func (w *World) applyApplicationSet(ctx context.Context, file string) error {
	full, doc, err := w.readProjectFile(file, "the ApplicationSet file")
	if err != nil {
		return err
	}
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	name, err := e.ApplyApplicationSet(ctx, full, doc, w.rewriter)
	if err != nil {
		return err
	}
	w.undo = append(w.undo, func(ctx context.Context) error { return e.DeleteApplicationSet(ctx, name, 60*time.Second) })
	return nil
}

func (w *World) appSetGenerated(ctx context.Context, seconds int, name, list string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	want := commaList(list)
	slices.Sort(want)
	_, err = await.Eventually(ctx, fmt.Sprintf("ApplicationSet %s to generate %s", name, strings.Join(want, ", ")), time.Duration(seconds)*time.Second,
		func(ctx context.Context) await.Result {
			got, err := e.GeneratedApplications(ctx, name)
			if err != nil {
				return await.Waiting("%v", err)
			}
			if slices.Equal(got, want) {
				return await.Passed("generated %s", strings.Join(got, ", "))
			}
			return await.Waiting("generated %v", got)
		})
	return err
}

func (w *World) configureArgoCD(ctx context.Context, folder string) error {
	dir, err := fixtures.Locate(folder, w.featureDir, w.projectDir)
	if err != nil {
		return fmt.Errorf("Argo CD's configuration: %w", err)
	}
	cfg, err := engine.ReadUserConfig(dir)
	if err != nil {
		return fmt.Errorf("Argo CD's configuration: %w", err)
	}
	return w.applyArgoCDConfig(ctx, cfg)
}

// applyArgoCDConfig applies the user's Argo CD settings for the scenario
// and puts Rehearse's back when it ends.
func (w *World) applyArgoCDConfig(ctx context.Context, cfg *engine.UserConfig) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	undo, err := e.ApplyUserConfig(ctx, cfg, w.rewriter)
	if err != nil {
		return err
	}
	w.finally = append(w.finally, undo)
	return nil
}

// readProjectFile reads a file a scenario names, found beside the feature
// file or under the project root; what says which file in errors.
func (w *World) readProjectFile(file, what string) (string, []byte, error) {
	full, err := fixtures.Locate(file, w.featureDir, w.projectDir)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", what, err)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", what, err)
	}
	return full, b, nil
}
