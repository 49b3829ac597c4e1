package evidence

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rehearse/rehearse/clusters/podwatch"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/fixtures/ci"
	"github.com/rehearse/rehearse/fixtures/gitserver"
	"github.com/rehearse/rehearse/fixtures/registry"
	"github.com/rehearse/rehearse/reports/sequence"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func messages(evs []sequence.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Message)
	}
	return out
}

// observed covers events against a seed flow with Rehearse's rules.
func observed(t *testing.T, flow int, evs []sequence.Event) []string {
	t.Helper()
	var f sequence.Flow
	for _, sf := range seedFlows(t) {
		if sf.Number == flow {
			f = sf
		}
	}
	require.NotEmpty(t, f.Steps, "flow %d", flow)
	c := sequence.Cover(f, sequence.Plays[flow].Cast, sequence.Plays[flow].Rules, evs)
	var out []string
	for _, s := range c.Steps {
		if s.Event != nil {
			out = append(out, s.Step.Label)
		}
	}
	return out
}

// Lines as Argo CD 3.2's controller logs them (JSON, read into fields).
func controllerLine(ms int, msg string) engine.LogLine {
	return engine.LogLine{Time: at(ms), Level: "info", Message: msg, Fields: map[string]string{"application": "argocd/q-sign"}}
}

func TestControllerShowsADryRunAcceptedOnlyWhenTheSyncWentOn(t *testing.T) {
	apps := map[string]string{"q-sign": sequence.Kubernetes}
	// gitops-engine logs "Tasks" only when it re-enters a started sync: a
	// sync that applies in one pass shows the apply's results alone.
	accepted := Controller([]engine.LogLine{
		controllerLine(0, "Tasks (dry-run)"),
		controllerLine(30, "Adding resource result, status: 'Synced', phase: 'Running', message: 'deployment.apps/keycloak configured'"),
		controllerLine(40, "Updating operation state. phase: Running -> Succeeded"),
	}, apps)
	assert.Equal(t, 1, count(messages(accepted), "← dry run accepted"))
	assert.Contains(t, messages(accepted), "kubectl apply: deployment.apps/keycloak configured")

	// The dry run passed; the API server refused the apply itself.
	applyFailed := Controller([]engine.LogLine{
		controllerLine(0, "Tasks (dry-run)"),
		controllerLine(30, "Adding resource result, status: 'SyncFailed', phase: 'Failed', message: 'Deployment.apps \"keycloak\" is invalid: spec.replicas'"),
		controllerLine(40, "Updating operation state. phase: Running -> Failed, message: 'one or more objects failed to apply, reason: ...'"),
	}, apps)
	assert.Equal(t, 1, count(messages(applyFailed), "← dry run accepted"))
	assert.Zero(t, count(messages(applyFailed), "← dry run failed"))
	assert.Zero(t, count(messages(applyFailed), "kubectl apply"), "a refused object was not applied")
	assert.NotContains(t, observed(t, 2, applyFailed), "14")

	failed := Controller([]engine.LogLine{
		controllerLine(0, "Tasks (dry-run)"),
		controllerLine(40, "Updating operation state. phase: Running -> Failed, message: 'one or more objects failed to apply (dry run)'"),
	}, apps)
	assert.NotContains(t, messages(failed), "← dry run accepted")
	assert.Contains(t, messages(failed), "← dry run failed")
	assert.Equal(t, []string{"10"}, observed(t, 3, failed), "flow 3: the dry run is tried (10), never accepted (11)")

	other := Controller([]engine.LogLine{{Time: at(0), Message: "Tasks (dry-run)", Fields: map[string]string{"application": "argocd/someone-else"}}}, apps)
	assert.Empty(t, other, "another scenario's application")
}

func stage(name, uses string, status ci.Status, ms int, log string) ci.StageView {
	return ci.StageView{Name: name, Uses: uses, Status: status, Started: at(ms), Finished: at(ms + 5), Log: log}
}

func TestBuildShowsOnlyWhatItsStagesDid(t *testing.T) {
	b := ci.BuildView{Repo: "root/q-sign-app", Commit: "0123456789abcdef", Image: "192.168.0.11:30800/qsign-prod/app:v1.0.1", ChartRepo: "root/q-sign",
		Stages: []ci.StageView{
			stage("Checkout", "checkout", ci.StatusPassed, 0, ""),
			stage("Build", "run", ci.StatusPassed, 10, "+ go build ./..."),
			stage("Unit tests", "run", ci.StatusPassed, 20, "+ go test ./..."),
			stage("Image", "image", ci.StatusPassed, 30, "built qsign-prod/app:v1.0.1"),
			stage("Registry login", "login", ci.StatusPassed, 40, "Login Succeeded"),
			stage("Push", "push", ci.StatusPassed, 50, ""),
			stage("Scan verdict", "scan", ci.StatusPassed, 60, "0 vulnerabilities"),
			stage("Clone Helm repo", "git-clone", ci.StatusPassed, 70, ""),
			stage("Update values", "set-value", ci.StatusPassed, 80, "image.tag: v1.0.1"),
			stage("Commit", "git-commit", ci.StatusPassed, 90, `git commit -m "Update image to v1.0.1": 1 file`),
			stage("Push chart", "git-push", ci.StatusPassed, 100, ""),
		}}
	got := messages(Build(b))
	assert.Contains(t, got, "← source code 01234567")
	assert.Contains(t, got, "← helm chart updated")
	assert.Equal(t, []string{"4", "5", "6", "7", "8", "9", "10", "12", "13", "14", "15", "16", "17"}, observed(t, 1, Build(b)))

	// The chart push refused: no "git push", no "helm chart updated".
	b.Stages[10] = stage("Push chart", "git-push", ci.StatusFailed, 100, "")
	b.Stages[10].Error = "push refused: branch main is protected"
	got = messages(Build(b))
	assert.NotContains(t, got, "← helm chart updated")
	assert.NotContains(t, got, "git push origin main")
	assert.Contains(t, got, `stage "Push chart" failed: push refused: branch main is protected`)
	assert.NotContains(t, observed(t, 1, Build(b)), "16")
	assert.NotContains(t, observed(t, 1, Build(b)), "17")

	// A checkout that failed brought no source code; stages after it did not run.
	failed := ci.BuildView{Repo: "root/q-sign-app", Stages: []ci.StageView{stage("Checkout", "checkout", ci.StatusFailed, 0, ""), stage("Build", "run", ci.StatusSkipped, 0, "")}}
	failed.Stages[0].Error = "repository not found"
	assert.Equal(t, []string{`stage "Checkout" failed: repository not found`}, messages(Build(failed)))

	// Failing unit tests are still the tests run (step 7), with their outcome.
	b.Stages[2] = stage("Unit tests", "run", ci.StatusFailed, 20, "+ go test ./...")
	assert.Contains(t, messages(Build(b)), "run unit tests: go test ./... (failed)")
}

func TestRegistryShowsLayersOnlyWhenTheNodesFetchedThem(t *testing.T) {
	pull := registry.Event{Time: at(0), User: "kubelet", Action: "pull", Repository: "qsign-prod/app", Reference: "v1.0.1"}
	blob := func(ms int, repo string) registry.Event {
		return registry.Event{Time: at(ms), User: "kubelet", Action: "pull-blob", Repository: repo, Digest: "sha256:aa"}
	}
	manifestOnly := Registry([]registry.Event{pull}, "kubelet")
	assert.Equal(t, []string{"docker pull qsign-prod/app:v1.0.1"}, messages(manifestOnly), "a node with the image unpacked fetches no layers")
	assert.Equal(t, []string{"25"}, observed(t, 1, manifestOnly))

	full := Registry([]registry.Event{pull, blob(5, "qsign-prod/app"), blob(6, "other/app"), blob(9, "qsign-prod/app")}, "kubelet")
	assert.Equal(t, []string{"docker pull qsign-prod/app:v1.0.1", "← image layers of qsign-prod/app (2 blobs)", "image pulled: qsign-prod/app:v1.0.1"}, messages(full))
	assert.Equal(t, at(9), full[1].Time, "the layers arrive with the last blob")

	jenkins := Registry([]registry.Event{{Time: at(0), User: "jenkins", Action: "pull", Repository: "qsign-prod/app"}}, "kubelet")
	assert.Empty(t, jenkins, "only the cluster's pulls are the seed's")

	denied := Registry([]registry.Event{{Time: at(0), User: "kubelet", Action: "denied", Detail: "1 Critical vulnerability"}}, "kubelet")
	assert.Equal(t, []string{"← pull denied: 1 Critical vulnerability"}, messages(denied))
}

func pod(name, hash, image string, created, ready, terminating int) podwatch.Pod {
	p := podwatch.Pod{Name: name, UID: types.UID(name), Image: image, Labels: map[string]string{"pod-template-hash": hash}, Created: at(created)}
	if ready >= 0 {
		p.Ready = at(ready)
	}
	if terminating >= 0 {
		p.Terminating = at(terminating)
	}
	return p
}

func count(msgs []string, prefix string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func TestPodsTellARollingUpdateFromAFirstDeploymentAndScalings(t *testing.T) {
	const v1 = "192.168.0.11:30800/qsign-prod/app:v1.0.0"
	const v2 = "192.168.0.11:30800/qsign-prod/app:v1.0.1"
	first := []podwatch.Pod{
		pod("keycloak-aaa-1", "aaa", v1, 0, 10, -1),
		pod("keycloak-aaa-2", "aaa", v1, 1, 11, -1),
		pod("keycloak-aaa-3", "aaa", v1, 2, 12, -1),
	}
	got := messages(Pods(first, sequence.Kubernetes))
	assert.Zero(t, count(got, "rolling update"), "a workload's first pods are not a rolling update: %v", got)
	assert.Equal(t, 2, count(got, "scale deployment: one more"))

	// The operator scales to 5, Argo CD back to 3: two up, two down, and
	// neither is a rolling update.
	scaled := append(append([]podwatch.Pod(nil), first...),
		pod("keycloak-aaa-4", "aaa", v1, 100, 110, 200),
		pod("keycloak-aaa-5", "aaa", v1, 101, 111, 201))
	got = messages(Pods(scaled, sequence.Kubernetes))
	assert.Equal(t, 4, count(got, "scale deployment: one more"))
	assert.Equal(t, 2, count(got, "scale deployment: one fewer"))
	assert.Zero(t, count(got, "rolling update"))
	assert.Equal(t, []string{"2", "13", "14"}, observed(t, 4, Pods(scaled, sequence.Kubernetes)))

	// A new template while the old one is live: one rolling update, and
	// the old pods' going is the update's, not a scale-down.
	rolled := []podwatch.Pod{
		pod("keycloak-aaa-1", "aaa", v1, 0, 10, 300),
		pod("keycloak-bbb-1", "bbb", v2, 200, 250, -1),
	}
	got = messages(Pods(rolled, sequence.Kubernetes))
	assert.Equal(t, []string{"rolling update of deployment keycloak to v1.0.1"}, filter(got, "rolling update"))
	assert.Zero(t, count(got, "scale deployment: one fewer"))

	// Another workload's pods do not make one.
	other := []podwatch.Pod{pod("redis-ccc-1", "ccc", "redis:7", 0, 10, -1), pod("keycloak-aaa-1", "aaa", v1, 100, 110, -1)}
	assert.Zero(t, count(messages(Pods(other, sequence.Kubernetes)), "rolling update"))
}

func filter(msgs []string, prefix string) []string {
	var out []string
	for _, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			out = append(out, m)
		}
	}
	return out
}

func TestGitAccessesCountOnlyArgoCDsAnsweredRequests(t *testing.T) {
	got := GitAccesses([]gitserver.Access{
		{Time: at(0), User: "argocd", Repo: "root/q-sign", Service: "git-upload-pack", Status: 200, Path: "/info/refs"},
		{Time: at(1), User: "argocd", Repo: "root/q-sign", Service: "git-upload-pack", Status: 200, Path: "/git-upload-pack"},
		{Time: at(2), User: "argocd", Repo: "root/q-sign", Service: "git-upload-pack", Status: 500, Path: "/git-upload-pack"},
		{Time: at(3), User: "developer", Repo: "root/q-sign", Service: "git-upload-pack", Status: 200, Path: "/git-upload-pack"},
		{Time: at(4), User: "argocd", Repo: "root/q-sign", Service: "git-receive-pack", Status: 200, Path: "/git-receive-pack"},
	}, "argocd")
	assert.Equal(t, []string{"git ls-remote root/q-sign", "← latest commit hashes of root/q-sign", "git fetch root/q-sign", "← updated files of root/q-sign"}, messages(got))
}

func TestRolloutChangeLeavesRoutingToTheUsersRequests(t *testing.T) {
	was := &engine.Rollout{Name: "q-sign", Phase: "Progressing", Step: 1, Steps: 4, Weights: []int{10, -1, 50, -1}, Replicas: 10, UpdatedReplicas: 1}
	aborted := *was
	aborted.Aborted, aborted.Phase = true, "Degraded"
	got := messages(RolloutChange(at(0), was, &aborted))
	assert.Contains(t, got, "Delete canary of q-sign (rollout aborted)")
	assert.Contains(t, got, "Canary failed, rolled back: q-sign Degraded")
	gone := aborted
	gone.UpdatedReplicas = 0
	got = messages(RolloutChange(at(1), &aborted, &gone))
	require.Len(t, got, 1)
	assert.Equal(t, "canary pods of q-sign gone: only stable pods left", got[0])
	assert.NotContains(t, observed(t, 7, RolloutChange(at(1), &aborted, &gone)), "11b", "pods going is not the users' traffic going back")
}

func seedFlows(t *testing.T) []sequence.Flow {
	t.Helper()
	doc, err := os.ReadFile("../../features/seed/gitops-flows.md")
	require.NoError(t, err)
	flows, err := sequence.ParseSeed(doc)
	require.NoError(t, err)
	return flows
}

func TestRolloutChangeReadsABlueGreenSwitchFromTheServicesSelectors(t *testing.T) {
	blue := &engine.Rollout{Name: "q-sign", Phase: "Healthy", ActiveHash: "blue"}
	preview := &engine.Rollout{Name: "q-sign", Phase: "Paused", ActiveHash: "blue", PreviewHash: "green"}
	assert.Equal(t, []string{"Deploy green of q-sign behind the preview Service (pods green)"}, messages(RolloutChange(at(0), blue, preview)))
	switched := &engine.Rollout{Name: "q-sign", Phase: "Healthy", ActiveHash: "green", PreviewHash: "green"}
	assert.Equal(t, []string{"Switch the active Service of q-sign to pods green (was blue)", "Blue-green rollout of q-sign Healthy (active green)"},
		messages(RolloutChange(at(1), preview, switched)))
	for _, e := range RolloutChange(at(1), preview, switched) {
		assert.Equal(t, sequence.ArgoRollouts, e.From, "Argo Rollouts' own participant")
	}
	aborted := &engine.Rollout{Name: "q-sign", Phase: "Degraded", ActiveHash: "blue", PreviewHash: "green", Aborted: true}
	assert.Equal(t, []string{"Abort q-sign: the active Service stays on pods blue"}, messages(RolloutChange(at(2), preview, aborted)))
	assert.Empty(t, RolloutChange(at(3), &engine.Rollout{Name: "x", Phase: "Progressing"}, &engine.Rollout{Name: "x", Phase: "Healthy"}),
		"neither canary steps nor blue-green selectors: nothing to read")
}
