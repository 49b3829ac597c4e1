package steps

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"

	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/fixtures/ci"
	"github.com/rehearse/rehearse/fixtures/registry"
	"github.com/rehearse/rehearse/fixtures/traffic"
	"github.com/rehearse/rehearse/fixtures/values"
	"github.com/rehearse/rehearse/fixtures/workspace"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/internal/loopback"
)

func (w *World) pipelineSteps() []StepDef {
	return []StepDef{
		{Pattern: `^the seed's Harbor "([^"]*)" is served by the local registry$`,
			Doc: "Maps the registry host (as image references name it) to the run's local registry, for the nodes' pulls and the CI's pushes, " +
				"and empties the registry for this scenario. Nothing is ever sent to the named host.",
			Example: `Given the seed's Harbor "192.168.0.11:30800" is served by the local registry`,
			Fn:      w.mapHarbor},
		{Pattern: `^the registry has the private project "([^"]*)"$`,
			Doc:     "Creates a private project: the CI (jenkins) may push, the cluster's nodes (kubelet) may pull, nobody else.",
			Example: `Given the registry has the private project "qsign-prod"`,
			Fn:      w.createProject},
		{Pattern: `^the registry refuses to serve images with "([^"]*)" or worse vulnerabilities from "([^"]*)"$`,
			Doc:     "Sets the project's policy (Harbor's \"prevent vulnerable images from running\"): pulls of such images get 412.",
			Example: `Given the registry refuses to serve images with "High" or worse vulnerabilities from "qsign-prod"`,
			Fn:      w.registryPolicy},
		{Pattern: `^Jenkins builds "([^"]*)" on every push to "([^"]*)"$`,
			Doc: "Starts the scenario's CI runner and has the Git server send the repository's GitLab push hooks to it. " +
				"Jenkins clones as git user jenkins and pushes images as registry user jenkins.",
			Example: `Given Jenkins builds "root/q-sign-app" on every push to "main"`,
			Fn:      w.jenkinsBuilds},
		{Pattern: `^the developer pushes release "([^"]*)" of "([^"]*)"$`,
			Doc: "Seed step 1: writes the version into the repository's release file (the tagFile of its pipeline.yaml's image stage, " +
				"VERSION for q-sign) and pushes \"Release <version>\" to main.",
			Example: `When the developer pushes release "v1.0.1" of "root/q-sign-app"`,
			Fn:      w.pushRelease},
		{Pattern: `^the developer pushes release "([^"]*)" of "([^"]*)" with its "([^"]*)" reading:$`,
			Doc: "Like a plain release, with the file (a path in the repository) replaced by the doc string in the same commit; " +
				"for q-sign, behaviour.json says how the release behaves (ready, errorRate, latency). A .json file must be JSON.",
			Example: "When the developer pushes release \"v1.0.4\" of \"root/q-sign-app\" with its \"behaviour.json\" reading:\n  \"\"\"\n  {\"ready\": false}\n  \"\"\"",
			Fn:      w.pushReleaseWithFile},
		{Pattern: `^the developer pushes release "([^"]*)" of "([^"]*)" with a unit test that fails$`,
			Doc:     "Like a plain release, with a new unit test that fails.",
			Example: `When the developer pushes release "v1.0.2" of "root/q-sign-app" with a unit test that fails`,
			Fn:      w.pushReleaseFailingTest},
		{Pattern: `^the developer pushes release "([^"]*)" of "([^"]*)" that uses "([^"]*)"$`,
			Doc:     "Like a plain release, after `go get module@version` (really run) and an import of the module in the service.",
			Example: `When the developer pushes release "v1.0.3" of "root/q-sign-app" that uses "github.com/google/uuid@v1.6.0"`,
			Fn:      w.pushReleaseWithDependency},
		{Pattern: `^within (\d+)s the Jenkins build of the push has (passed|failed)$`,
			Doc: "Waits for the build the developer's last push triggered to end with that outcome. When it passed, its chart commit " +
				"becomes \"the pushed commit\" for later steps.",
			Example: `Then within 120s the Jenkins build of the push has passed`,
			Fn:      w.buildEnded},
		{Pattern: `^the Jenkins build ran these stages:$`,
			Doc:     "The build's stages, in order, with their status (passed, failed, skipped). Durations go to the report.",
			Example: "Then the Jenkins build ran these stages:\n  | stage    | status |\n  | Checkout | passed |",
			Fn:      w.buildStages},
		{Pattern: `^the log of the Jenkins build's "([^"]*)" stage contains "([^"]*)"$`,
			Doc:     "The named stage's log contains the text.",
			Example: `Then the log of the Jenkins build's "Unit tests" stage contains "FAIL"`,
			Fn:      w.stageLogContains},
		{Pattern: `^the registry scanned "([^"]*)" and found (\d+) vulnerabilit(?:y|ies)$`,
			Doc:     "Seed step 11: the image project/repo:tag was scanned on push with that many findings.",
			Example: `Then the registry scanned "qsign-prod/app:v1.0.1" and found 0 vulnerabilities`,
			Fn:      w.scanned},
		{Pattern: `^the registry has no image "([^"]*)"$`,
			Doc:     "Nothing was pushed under project/repo:tag.",
			Example: `Then the registry has no image "qsign-prod/app:v1.0.2"`,
			Fn:      w.noImage},
		{Pattern: `^the last commit of "([^"]*)" is "([^"]*)" by "([^"]*)", changing only "([^"]*)" to "([^"]*)" in "([^"]*)"$`,
			Doc: "Seed steps 14-16: the head commit of the repository has that message and author, and the file differs from its parent " +
				"only in that value (comments and layout kept).",
			Example: `Then the last commit of "root/q-sign" is "Update image to v1.0.1" by "jenkins", changing only "image.tag" to "v1.0.1" in "helm/keycloak-pqc/values.yaml"`,
			Fn:      w.lastCommitSets},
		{Pattern: `^"([^"]*)" has no commit after its initial import$`,
			Doc:     "The repository's main branch is still at the commit the scenario started with.",
			Example: `Then "root/q-sign" has no commit after its initial import`,
			Fn:      w.noNewCommit},
		{Pattern: `^within (\d+)s the deployment "([^"]*)" in "([^"]*)"(?: of cluster "([^"]*)")? has rolled out "([^"]*)", each new pod Ready before an old pod terminated$`,
			Doc: "Seed steps 24-29: every replica runs the image tag and is Ready, no old pod is left, and (from the pods seen during the " +
				"rollout) whenever an old pod began terminating at least as many new pods were already Ready.",
			Example: `Then within 60s the deployment "keycloak" in "q-sign" has rolled out "v1.0.1", each new pod Ready before an old pod terminated`,
			Fn:      w.rolledOut},
		{Pattern: `^the Service "([^"]*)" in "([^"]*)"(?: of cluster "([^"]*)")? serves only "([^"]*)"(?: for (\d+)s)?$`,
			Doc: "Sends a request to every ready endpoint of the Service (its EndpointSlices, through the pod network) and checks that " +
				"each answers 2xx with that version, read as the users read it (see \"the users read the version from ...\"); with \"for Ns\" " +
				"it must hold the whole time.",
			Example: `Then the Service "keycloak" in "q-sign" serves only "v1.0.0" for 5s`,
			Fn:      w.serviceServes},
		{Pattern: `^within (\d+)s a pod of deployment "([^"]*)" in "([^"]*)" is waiting with "([^"]*)"(?: mentioning "([^"]*)")?$`,
			Doc:     "A pod of the Deployment reports that container waiting reason (ErrImagePull, ImagePullBackOff, ...), optionally with the text in its message.",
			Example: `Then within 30s a pod of deployment "keycloak" in "q-sign" is waiting with "ImagePullBackOff"`,
			Fn:      w.podWaiting},
		{Pattern: `^the developer sets "([^"]*)" to the seed's (\d+) seconds, compressed, in "([^"]*)" of "([^"]*)" and pushes "([^"]*)"$`,
			Doc:     "Writes a seconds value compressed by the run's time scale (recorded in the report), and pushes.",
			Example: `Given the developer sets "progressDeadlineSeconds" to the seed's 600 seconds, compressed, in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Compress the progress deadline"`,
			Fn:      w.setCompressedSeconds},
		{Pattern: `^within (\d+)s Argo CD shows "([^"]*)" of "([^"]*)" as "([^"]*)" with a message containing "([^"]*)"$`,
			Doc:     "The health Argo CD reports for one managed resource (Kind/name) of the application, and its health message.",
			Example: `Then within 30s Argo CD shows "Deployment/keycloak" of "q-sign" as "Degraded" with a message containing "progress deadline"`,
			Fn:      w.resourceHealth},
		{Pattern: `^Argo CD's "([^"]*)" e-mail subject is "([^"]*)"$`,
			Doc: "Changes a notification template's e-mail subject in argocd-notifications-cm (a notifications template; quote strings " +
				"inside it with backquotes) for this scenario.",
			Example: "Given Argo CD's \"app-deployed\" e-mail subject is \"Deployed {{(call .repo.GetAppDetails).Helm.GetParameterValueByName `image.tag`}}\"",
			Fn:      w.emailSubject},
	}
}

func (w *World) mapHarbor(ctx context.Context, host string) error {
	if err := w.env.StartRegistry(); err != nil {
		return err
	}
	if strings.Contains(host, "/") {
		return fmt.Errorf("%q: give the registry as host:port, as image references name it", host)
	}
	reg := w.env.Registry()
	to := "http://" + reg.Host() + "/"
	if err := w.env.RegistryMirrors().Map("http://"+host+"/", to); err != nil {
		return err
	}
	if err := w.rewriter.Map("http://"+host+"/", to); err != nil {
		return err
	}
	// Helm charts stored in the registry: Argo CD's OCI source names them
	// oci://host/path/chart.
	if err := w.rewriter.Map("oci://"+host+"/", "oci://"+reg.Host()+"/"); err != nil {
		return err
	}
	// The registry starts empty for the scenario once; a second host
	// mapped to it must not empty it again.
	if w.harbor == "" {
		reg.Reset()
		w.harbor = host
	}
	w.registryHosts = append(w.registryHosts, host)
	return nil
}

func (w *World) registry() (*registry.Server, error) {
	if w.harbor == "" {
		return nil, fmt.Errorf(`no registry yet: add "Given the seed's Harbor \"<host:port>\" is served by the local registry"`)
	}
	return w.env.Registry(), nil
}

func (w *World) createProject(ctx context.Context, project string) error {
	reg, err := w.registry()
	if err != nil {
		return err
	}
	reg.CreateProject(registry.Project{Name: project,
		Members: map[string]registry.Role{lane.RegistryCI: registry.RoleDeveloper, lane.RegistryNodes: registry.RoleGuest}})
	return nil
}

func (w *World) registryPolicy(ctx context.Context, severity, project string) error {
	reg, err := w.registry()
	if err != nil {
		return err
	}
	sev, err := registry.ParseSeverity(severity)
	if err != nil {
		return err
	}
	return reg.SetPolicy(project, sev)
}

// pushImage pushes img to the scenario's registry as reference
// (project/repo:tag) and waits for the registry's scan of it.
func (w *World) pushImage(ctx context.Context, reference string, img v1.Image) error {
	reg, err := w.registry()
	if err != nil {
		return err
	}
	local, err := name.ParseReference(reg.Host()+"/"+reference, name.Insecure)
	if err != nil {
		return err
	}
	var d loopback.Dialer
	if err := remote.Write(local, img, remote.WithContext(ctx), remote.WithTransport(&http.Transport{DialContext: d.DialContext}),
		remote.WithAuth(&authn.Basic{Username: lane.RegistryAdmin, Password: w.env.RegistryPassword(lane.RegistryAdmin)})); err != nil {
		return fmt.Errorf("pushing %s: %w", reference, err)
	}
	digest, _ := img.Digest()
	_, err = await.Eventually(ctx, "the registry's scan of "+reference, 60*time.Second, func(context.Context) await.Result {
		sc, ok := reg.ScanOf(digest.String())
		if !ok || sc.Status == registry.ScanRunning {
			return await.Waiting("scan not finished")
		}
		if sc.Status == registry.ScanError {
			return await.Failed("scan failed: %s", sc.Error)
		}
		return await.Passed("%d vulnerabilities", len(sc.Report.Vulnerabilities))
	})
	return err
}

func (w *World) jenkinsBuilds(ctx context.Context, repo, branch string) error {
	if w.ci != nil {
		return fmt.Errorf("Jenkins already runs in this scenario")
	}
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	if w.harbor == "" {
		return fmt.Errorf("Jenkins pushes images: map the seed's Harbor first")
	}
	token := "hook-" + w.id
	runner, err := ci.Start(ci.Options{Rewriter: w.rewriter, WebhookToken: token, CheckoutCredentials: "gitlab-jenkins",
		Branches: []string{branch},
		Credentials: map[string]ci.Credential{
			"gitlab-jenkins": {Username: jenkinsUser, Password: w.passwords[jenkinsUser]},
			"harbor-jenkins": {Username: lane.RegistryCI, Password: w.env.RegistryPassword(lane.RegistryCI)},
		}})
	if err != nil {
		return err
	}
	w.ci = runner
	s.AddWebhook(runner.WebhookURL(repo), token, repo)
	return nil
}

func (w *World) release(ctx context.Context, version, repo string, edit func(ws *workspace.Workspace) error) error {
	return w.pushChange(ctx, "Release "+version, repo, "main", func(ws *workspace.Workspace) error {
		raw, err := os.ReadFile(filepath.Join(ws.Dir, ci.PipelineFile))
		if err != nil {
			return fmt.Errorf("%s has no %s to say where a release's version goes: %w", repo, ci.PipelineFile, err)
		}
		p, err := ci.ParsePipeline(repo+"/"+ci.PipelineFile, raw)
		if err != nil {
			return err
		}
		file, err := p.ReleaseFile()
		if err != nil {
			return fmt.Errorf("%s/%s: %w", repo, ci.PipelineFile, err)
		}
		if err := ws.WriteFile(file, []byte(version+"\n")); err != nil {
			return err
		}
		if edit != nil {
			return edit(ws)
		}
		return nil
	})
}

func (w *World) pushRelease(ctx context.Context, version, repo string) error {
	return w.release(ctx, version, repo, nil)
}

func (w *World) pushReleaseWithFile(ctx context.Context, version, repo, file string, doc *godog.DocString) error {
	if err := ci.CheckReplacement(file, []byte(doc.Content)); err != nil {
		return err
	}
	return w.release(ctx, version, repo, func(ws *workspace.Workspace) error {
		return ws.WriteFile(file, []byte(doc.Content+"\n"))
	})
}

func (w *World) pushReleaseFailingTest(ctx context.Context, version, repo string) error {
	return w.release(ctx, version, repo, func(ws *workspace.Workspace) error {
		return ws.WriteFile("release_test.go", []byte(`package main

import "testing"

func TestSignatureRoundTrip(t *testing.T) {
	t.Fatal("signature verification rejects a freshly signed token")
}
`))
	})
}

func (w *World) pushReleaseWithDependency(ctx context.Context, version, repo, module string) error {
	path, _, ok := strings.Cut(module, "@")
	if !ok {
		return fmt.Errorf("%q: give module@version", module)
	}
	return w.release(ctx, version, repo, func(ws *workspace.Workspace) error {
		src := fmt.Sprintf("package main\n\n// Linked for %s.\nimport _ %q\n", version, path)
		if err := ws.WriteFile("dependency.go", []byte(src)); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "go", "get", module)
		cmd.Dir = ws.Dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go get %s: %w: %s", module, err, out)
		}
		return nil
	})
}

// build returns the CI build the developer's last push triggered.
func (w *World) buildEnded(ctx context.Context, seconds int, outcome string) error {
	if w.ci == nil {
		return fmt.Errorf(`no CI runner: add "Given Jenkins builds ..."`)
	}
	if w.appPush.sha == "" {
		return fmt.Errorf("no developer push in this scenario yet")
	}
	res, err := await.Eventually(ctx, "the Jenkins build of "+short(w.appPush.sha), time.Duration(seconds)*time.Second, w.ci.BuildFinished(w.appPush.sha))
	if err != nil {
		return err
	}
	b, _ := w.ci.BuildOf(w.appPush.sha)
	w.lastBuild = b
	w.note("Jenkins build #%d %s in %s: %s", b.ID, b.Status, b.Finished.Sub(b.Queued).Round(time.Millisecond), b.Timings())
	if string(b.Status) != outcome {
		return fmt.Errorf("the build %s, want %s: %s\n%s", res.Saw, outcome, b.Error, b.FailingStageLog())
	}
	if b.Status == ci.StatusPassed && b.ChartCommit != "" {
		w.rememberPush(b.ChartPushedAt(), b.ChartRepo, b.ChartCommit)
	}
	return nil
}

func (w *World) requireBuild() (ci.BuildView, error) {
	if w.lastBuild.ID == 0 {
		return ci.BuildView{}, fmt.Errorf(`no finished build: use "within Ns the Jenkins build of the push has passed" first`)
	}
	return w.lastBuild, nil
}

func (w *World) buildStages(ctx context.Context, table *godog.Table) error {
	b, err := w.requireBuild()
	if err != nil {
		return err
	}
	if len(table.Rows) < 2 {
		return fmt.Errorf("the table needs a header (stage | status) and rows")
	}
	var want, got []string
	for _, row := range table.Rows[1:] {
		if len(row.Cells) != 2 {
			return fmt.Errorf("each row needs a stage and a status")
		}
		want = append(want, row.Cells[0].Value+": "+row.Cells[1].Value)
	}
	for _, s := range b.Stages {
		got = append(got, s.Name+": "+string(s.Status))
	}
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		return fmt.Errorf("stages differ.\nwant:\n  %s\ngot:\n  %s\n%s", strings.Join(want, "\n  "), strings.Join(got, "\n  "), b.FailingStageLog())
	}
	return nil
}

func (w *World) stageLogContains(ctx context.Context, stage, text string) error {
	b, err := w.requireBuild()
	if err != nil {
		return err
	}
	s, ok := b.Stage(stage)
	if !ok {
		return fmt.Errorf("the build has no stage %q", stage)
	}
	if !strings.Contains(s.Log, text) {
		return fmt.Errorf("the %q log does not contain %q:\n%s", stage, text, s.Log)
	}
	return nil
}

func (w *World) scanned(ctx context.Context, reference string, count int) error {
	reg, err := w.registry()
	if err != nil {
		return err
	}
	digest := reg.Digest(reference)
	if digest == "" {
		return fmt.Errorf("the registry has no image %s", reference)
	}
	sc, ok := reg.ScanOf(digest)
	if !ok || sc.Status != registry.ScanSuccess {
		return fmt.Errorf("%s was not scanned successfully: %+v", reference, sc)
	}
	if n := len(sc.Report.Vulnerabilities); n != count {
		return fmt.Errorf("the scan of %s found %d vulnerabilities, want %d: %+v", reference, n, count, sc.Report.Vulnerabilities)
	}
	return nil
}

func (w *World) noImage(ctx context.Context, reference string) error {
	reg, err := w.registry()
	if err != nil {
		return err
	}
	if d := reg.Digest(reference); d != "" {
		return fmt.Errorf("the registry has %s (%s)", reference, d)
	}
	return nil
}

func (w *World) lastCommitSets(ctx context.Context, repo, message, author, key, value, file string) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	ws, err := workspace.Clone(s.RepoURL(repo), "main", adminUser, w.passwords[adminUser])
	if err != nil {
		return err
	}
	defer ws.Close()
	head, before, after, err := ws.HeadChange(file)
	if err != nil {
		return fmt.Errorf("the last commit of %s: %w", repo, err)
	}
	if head.Message != message || head.Author != author {
		return fmt.Errorf("the last commit of %s is %q by %s, want %q by %s", repo, head.Message, head.Author, message, author)
	}
	if err := values.CheckOnlySet(before, after, key, value); err != nil {
		return fmt.Errorf("%s at %s: %w", file, short(head.SHA), err)
	}
	return nil
}

func (w *World) noNewCommit(ctx context.Context, repo string) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	head, err := s.Head(repo, "main")
	if err != nil {
		return err
	}
	if initial := w.commits["initial "+repo]; head != initial {
		return fmt.Errorf("%s moved from its initial commit %s to %s", repo, short(initial), short(head))
	}
	return nil
}

func (w *World) rolledOut(ctx context.Context, seconds int, deployment, ns, cluster, tag string) error {
	kube, err := w.kube(ctx, cluster)
	if err != nil {
		return err
	}
	rec, ok := w.podRecorders[recorderKey(cluster, ns)]
	if !ok {
		return fmt.Errorf("pods of %s were not recorded (Rehearse records the destination namespace of applied Applications)", ns)
	}
	update := rec.RollingUpdateTo(kube, ns, deployment, tag)
	if _, err := await.Eventually(ctx, fmt.Sprintf("deployment %s/%s to run %s on every replica", ns, deployment, tag), time.Duration(seconds)*time.Second,
		update.Done); err != nil {
		return err
	}
	ro, err := update.Check()
	if err != nil {
		return err
	}
	w.note("rollout of %s: %s", tag, ro)
	return nil
}

// serveVersions asks every ready endpoint of the Service for its version,
// read as the scenario's users read it.
func (w *World) serveVersions(ctx context.Context, cluster, svc, ns string) (map[string]int, error) {
	kube, err := w.kube(ctx, cluster)
	if err != nil {
		return nil, err
	}
	return traffic.ServiceVersions(ctx, kube, podruntime.Dial, ns, svc, w.versionReader)
}

func (w *World) serviceServes(ctx context.Context, svc, ns, cluster, version, forSeconds string) error {
	check := func(ctx context.Context) await.Result {
		v, err := w.serveVersions(ctx, cluster, svc, ns)
		if err != nil {
			return await.Waiting("%v", err)
		}
		if len(v) == 1 && v[version] > 0 {
			return await.Passed("%d endpoints serve %s", v[version], version)
		}
		if len(v) == 0 {
			return await.Waiting("no ready endpoint")
		}
		return await.Waiting("endpoints answer %v", v)
	}
	what := fmt.Sprintf("service %s/%s to serve only %s", ns, svc, version)
	if forSeconds == "" {
		_, err := await.Eventually(ctx, what, 10*time.Second, check)
		return err
	}
	n, _ := strconv.Atoi(forSeconds)
	_, err := await.Consistently(ctx, what, time.Duration(n)*time.Second, check)
	return err
}

func (w *World) podWaiting(ctx context.Context, seconds int, deployment, ns, reason, mention string) error {
	return w.awaitPods(ctx, deployment, ns, fmt.Sprintf("a pod of %s/%s waiting with %s", ns, deployment, reason), time.Duration(seconds)*time.Second,
		func(pods []corev1.Pod) await.Result {
			var seen []string
			for _, p := range pods {
				for _, cs := range p.Status.ContainerStatuses {
					if wt := cs.State.Waiting; wt != nil {
						seen = append(seen, p.Name+": "+wt.Reason+" "+wt.Message)
						if wt.Reason == reason && strings.Contains(wt.Message, mention) {
							return await.Passed("%s: %s", p.Name, wt.Message)
						}
					}
				}
			}
			return await.Waiting("waiting containers: %v", seen)
		})
}

func (w *World) setCompressedSeconds(ctx context.Context, key string, seconds int, file, repo, message string) error {
	compressed := w.env.Scale().WholeSeconds(file+" "+key, time.Duration(seconds)*time.Second)
	return w.pushChange(ctx, message, repo, "main", func(ws *workspace.Workspace) error {
		doc, err := ws.ReadFile(file)
		if err != nil {
			return err
		}
		out, err := values.Set(doc, key, strconv.Itoa(compressed))
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		return ws.WriteFile(file, out)
	})
}

func (w *World) emailSubject(ctx context.Context, template, subject string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	previous, err := e.SetEmailSubject(ctx, template, subject)
	if err != nil {
		return err
	}
	w.undo = append(w.undo, func(ctx context.Context) error {
		_, err := e.SetEmailSubject(ctx, template, previous)
		return err
	})
	return nil
}

func (w *World) resourceHealth(ctx context.Context, seconds int, resource, app, status, text string) error {
	kind, name, ok := strings.Cut(resource, "/")
	if !ok {
		return fmt.Errorf("%q: give Kind/name", resource)
	}
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("%s of %s to be %s (%q)", resource, app, status, text), time.Duration(seconds)*time.Second,
		e.ResourceHealth(app, kind, name, status, text))
	return err
}
