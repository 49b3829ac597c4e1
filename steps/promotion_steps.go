package steps

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/fixtures/gitserver"
	"github.com/rehearse/rehearse/fixtures/traffic"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/reports/sequence"
)

// Who may merge into protected branches in promotion scenarios.
const leadUser = "lead"

func (w *World) promotionSteps() []StepDef {
	return []StepDef{
		{Pattern: registerClustersStep.String(),
			Doc: "Creates the destination clusters (once per lane, one after another; each with its own ports, files and pod addresses) and registers each " +
				"with Argo CD as a cluster Secret under that name, for Applications' destination.name. A lane keeps them for the run's next scenario that " +
				"registers them, and stops them once no such scenario is left.",
			Example: `Given the clusters "dev", "staging" and "prod" are registered with Argo CD`,
			Fn:      w.registerClusters},
		{Pattern: `^"([^"]*)" has the branches "([^"]*)" and "([^"]*)", made from "main"$`,
			Doc:     "Creates branches on the Git server at the head of main.",
			Example: `Given "root/q-sign" has the branches "develop" and "staging", made from "main"`,
			Fn:      w.createBranches},
		{Pattern: `^the branch "([^"]*)" of "([^"]*)" is protected: only "([^"]*)" pushes and merges, after (\d+) approvals? and a passing "([^"]*)" status$`,
			Doc: "GitLab-like protection: direct pushes by anyone else are rejected, merge requests need that many approvals (not the author's), " +
				"and the source head needs a \"success\" commit status of that name before anyone may approve.",
			Example: `Given the branch "main" of "root/q-sign" is protected: only "lead" pushes and merges, after 1 approval and a passing "integration-tests" status`,
			Fn:      w.protectBranch},
		{Pattern: `^the developer sets "([^"]*)" to "([^"]*)" in "([^"]*)" on branch "([^"]*)" of "([^"]*)" and pushes "([^"]*)"$`,
			Doc:     "Clones that branch, sets one value (keeping comments), commits with the message and pushes to the branch.",
			Example: `When the developer sets "image.tag" to "v1.0.1" in "helm/keycloak-pqc/values.yaml" on branch "develop" of "root/q-sign" and pushes "Release v1.0.1"`,
			Fn:      w.setValueOnBranch},
		{Pattern: `^the developer tries to push "([^"]*)" set to "([^"]*)" in "([^"]*)" directly to "([^"]*)" of "([^"]*)"$`,
			Doc:     "Attempts the push; the outcome is checked by a following \"it is refused with\" step.",
			Example: `When the developer tries to push "image.tag" set to "v1.0.1" in "helm/keycloak-pqc/values.yaml" directly to "main" of "root/q-sign"`,
			Fn:      w.tryPushToBranch},
		{Pattern: `^the developer merges "([^"]*)" into "([^"]*)" of "([^"]*)" and pushes$`,
			Doc:     "Seed step 5: `git merge --no-ff` in a clone (the real git CLI), then pushes the target branch.",
			Example: `When the developer merges "develop" into "staging" of "root/q-sign" and pushes`,
			Fn:      w.mergeAndPush},
		{Pattern: `^within (\d+)s the deployment "([^"]*)" in "([^"]*)" of cluster "([^"]*)" runs "([^"]*)" on (\d+) ready replicas? requesting "([^"]*)" CPU$`,
			Doc:     "Waits until the Deployment in that destination cluster is rolled out: every replica Ready, running the image tag, with that CPU request.",
			Example: `Then within 30s the deployment "keycloak" in "q-sign" of cluster "dev" runs "v1.0.1" on 1 ready replica requesting "50m" CPU`,
			Fn:      w.deploymentRunsIn},
		{Pattern: `^the developer runs the integration tests of branch "([^"]*)" of "([^"]*)" against the Service "([^"]*)" in "([^"]*)" of cluster "([^"]*)", expecting "([^"]*)"$`,
			Doc: "Seed steps 9-10: sends 20 requests spread over the Service's ready endpoints (through the pod network); each must answer " +
				"2xx with that version, read as the users read it. The outcome is reported to the Git server as the \"integration-tests\" status of the branch's head.",
			Example: `When the developer runs the integration tests of branch "staging" of "root/q-sign" against the Service "keycloak" in "q-sign" of cluster "staging", expecting "v1.0.1"`,
			Fn:      w.integrationTests},
		{Pattern: `^the integration tests (passed|failed)$`,
			Doc:     "The outcome of the last integration test run.",
			Example: `Then the integration tests passed`,
			Fn:      w.integrationOutcome},
		{Pattern: `^the developer opens a merge request from "([^"]*)" to "([^"]*)" of "([^"]*)" titled "([^"]*)"$`,
			Doc:     "Seed step 11, through the Git server's API.",
			Example: `When the developer opens a merge request from "staging" to "main" of "root/q-sign" titled "Promote v1.0.1"`,
			Fn:      w.openMergeRequest},
		{Pattern: `^the merge request is open, waiting for (\d+) approvals?$`,
			Doc:     "Seed step 12: the merge request is open with fewer approvals than the target branch requires.",
			Example: `Then the merge request is open, waiting for 1 approval`,
			Fn:      w.mergeRequestWaiting},
		{Pattern: `^"([^"]*)" (approves|merges) the merge request$`,
			Doc:     "Seed step 13, through the API as that user. A merge creates a merge commit on the target branch, with a push event.",
			Example: `When "lead" approves the merge request`,
			Fn:      w.mergeRequestAction},
		{Pattern: `^"([^"]*)" tries to (approve|merge) the merge request$`,
			Doc:     "Attempts it; a following \"it is refused with\" step checks the refusal.",
			Example: `When "lead" tries to merge the merge request`,
			Fn:      w.tryMergeRequestAction},
		{Pattern: `^it is refused with "([^"]*)"$`,
			Doc:     "The last attempted push or merge request action was refused with a message containing the text.",
			Example: `Then it is refused with "needs 1 approval"`,
			Fn:      w.refusedWithText},
	}
}

func (w *World) registerClusters(ctx context.Context, a, b, c string) error {
	// One after another, on purpose: starting an API server is CPU-bound.
	// On two cores, with both lanes at this step, three at once took
	// 28-32 s each, the same total as 8-12 s each one after another
	// (2026-12-02), and the lane's other work got less of the machine.
	for _, name := range []string{a, b, c} {
		if _, err := w.env.DestinationCluster(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (w *World) createBranches(ctx context.Context, repo, a, b string) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	for _, br := range []string{a, b} {
		if err := s.CreateBranch(repo, br, "main"); err != nil {
			return err
		}
	}
	return nil
}

func (w *World) protectBranch(ctx context.Context, branch, repo, maintainer string, approvals int, status string) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	return s.Protect(repo, gitserver.Protection{Branch: branch, Maintainers: []string{maintainer},
		ApprovalsRequired: approvals, RequiredStatus: status})
}

func (w *World) setValueOnBranch(ctx context.Context, key, value, file, branch, repo, message string) error {
	return w.pushValuesTo(ctx, message, file, repo, branch, [][2]string{{key, value}})
}

func (w *World) tryPushToBranch(ctx context.Context, key, value, file, branch, repo string) error {
	err := w.pushValuesTo(ctx, "Direct change of "+key, file, repo, branch, [][2]string{{key, value}})
	w.lastErr = err
	if err == nil {
		w.lastErr = errNoError
	}
	return nil
}

func (w *World) refusedWithText(ctx context.Context, text string) error {
	return w.refusedWith("it", text)
}

func (w *World) mergeAndPush(ctx context.Context, source, target, repo string) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "rehearse-merge-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	url := strings.Replace(s.RepoURL(repo), "http://", "http://"+developerUser+":"+w.passwords[developerUser]+"@", 1)
	env := append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME="+developerUser, "GIT_AUTHOR_EMAIL="+developerUser+"@rehearse.local",
		"GIT_COMMITTER_NAME="+developerUser, "GIT_COMMITTER_EMAIL="+developerUser+"@rehearse.local")
	start := time.Now()
	for _, args := range [][]string{
		{"clone", "-q", "-b", target, url, "."},
		{"merge", "-q", "--no-ff", "-m", fmt.Sprintf("Merge branch '%s' into %s", source, target), "origin/" + source},
		{"push", "-q", "origin", target},
	} {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w: %s", args[0], err, strings.ReplaceAll(string(out), w.passwords[developerUser], "***"))
		}
	}
	head, err := s.Head(repo, target)
	if err != nil {
		return err
	}
	w.observeAt(start, sequence.Developer, sequence.GitLab, fmt.Sprintf("git merge %s → %s", source, target))
	w.observe(sequence.Developer, sequence.GitLab, "git push origin "+target)
	w.lastPush = pushEvent{at: time.Now(), repo: repo, sha: head}
	w.appPush = w.lastPush
	return nil
}

func (w *World) deploymentRunsIn(ctx context.Context, seconds int, deployment, ns, cluster, tag string, replicas int, cpu string) error {
	kube, err := w.kube(ctx, cluster)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("deployment %s/%s in cluster %s on %s", ns, deployment, cluster, tag), time.Duration(seconds)*time.Second,
		func(ctx context.Context) await.Result {
			d, err := kube.AppsV1().Deployments(ns).Get(ctx, deployment, metav1.GetOptions{})
			if err != nil {
				return await.Waiting("%v", err)
			}
			c := d.Spec.Template.Spec.Containers[0]
			req := c.Resources.Requests[corev1.ResourceCPU]
			st := d.Status
			saw := fmt.Sprintf("image %s, cpu request %s, %d/%d updated, %d ready, %d total", c.Image, req.String(),
				st.UpdatedReplicas, *d.Spec.Replicas, st.ReadyReplicas, st.Replicas)
			if strings.HasSuffix(c.Image, ":"+tag) && req.String() == cpu && int(*d.Spec.Replicas) == replicas &&
				st.ObservedGeneration >= d.Generation && int(st.UpdatedReplicas) == replicas &&
				int(st.ReadyReplicas) == replicas && int(st.Replicas) == replicas {
				return await.Passed("%s", saw)
			}
			return await.Waiting("%s", saw)
		})
	return err
}

type integrationRun struct {
	passed bool
	report string
}

func (w *World) integrationTests(ctx context.Context, branch, repo, svc, ns, cluster, version string) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	head, err := s.Head(repo, branch)
	if err != nil {
		return err
	}
	kube, err := w.kube(ctx, cluster)
	if err != nil {
		return err
	}
	endpoints, err := traffic.ReadyEndpoints(ctx, kube, ns, svc)
	if err != nil {
		return err
	}
	role := sequence.ClusterRole(cluster)
	w.observe(sequence.Developer, role, fmt.Sprintf("run integration tests against %s/%s", ns, svc))
	const requests = 20
	failures := w.versionReader.Expect(ctx, podruntime.Dial, endpoints, requests, version)
	run := integrationRun{passed: len(failures) == 0,
		report: fmt.Sprintf("%d of %d requests to %s/%s in %s failed", len(failures), requests, ns, svc, cluster)}
	if len(failures) > 0 {
		run.report += ": " + failures[0]
	}
	w.integration = &run
	state := "success"
	if !run.passed {
		state = "failed"
		w.observe(role, sequence.Developer, "← tests failed: "+run.report)
	} else {
		w.observe(role, sequence.Developer, "← all tests passed: "+run.report)
	}
	client := &gitserver.Client{BaseURL: s.URL(), User: developerUser, Password: w.passwords[developerUser]}
	return client.SetStatus(repo, head, "integration-tests", state, run.report)
}

func (w *World) integrationOutcome(ctx context.Context, outcome string) error {
	if w.integration == nil {
		return fmt.Errorf("no integration test run in this scenario")
	}
	if (outcome == "passed") != w.integration.passed {
		return fmt.Errorf("the integration tests did not %s: %s", strings.TrimSuffix(outcome, "ed"), w.integration.report)
	}
	return nil
}

func (w *World) gitClient(user string) (*gitserver.Client, error) {
	s, err := w.gitServer()
	if err != nil {
		return nil, err
	}
	pw, ok := w.passwords[user]
	if !ok {
		return nil, fmt.Errorf("no Git user %q in this scenario", user)
	}
	return &gitserver.Client{BaseURL: s.URL(), User: user, Password: pw}, nil
}

func (w *World) openMergeRequest(ctx context.Context, source, target, repo, title string) error {
	c, err := w.gitClient(developerUser)
	if err != nil {
		return err
	}
	start := time.Now()
	mr, err := c.OpenMergeRequest(repo, source, target, title)
	if err != nil {
		return err
	}
	w.observeAt(start, sequence.Developer, sequence.GitLab, fmt.Sprintf("create merge request %s → %s", source, target))
	w.mr = &mr
	return nil
}

func (w *World) requireMR() error {
	if w.mr == nil {
		return fmt.Errorf("no merge request opened in this scenario")
	}
	return nil
}

func (w *World) mergeRequestWaiting(ctx context.Context, approvals int) error {
	if err := w.requireMR(); err != nil {
		return err
	}
	c, err := w.gitClient(developerUser)
	if err != nil {
		return err
	}
	mr, err := c.MergeRequest(w.mr.Repo, w.mr.IID)
	if err != nil {
		return err
	}
	if mr.State != "opened" || mr.ApprovalsNow != approvals || len(mr.Approvals) >= approvals {
		return fmt.Errorf("merge request !%d is %s with %d of %d approvals", mr.IID, mr.State, len(mr.Approvals), mr.ApprovalsNow)
	}
	w.observe(sequence.GitLab, sequence.Developer, fmt.Sprintf("← waiting for approval (%d of %d)", len(mr.Approvals), mr.ApprovalsNow))
	return nil
}

func (w *World) doMergeRequestAction(user, action string) error {
	if err := w.requireMR(); err != nil {
		return err
	}
	c, err := w.gitClient(user)
	if err != nil {
		return err
	}
	verb := map[string]string{"approves": "approve", "approve": "approve", "merges": "merge", "merge": "merge"}[action]
	// Recorded once it succeeded: a refused approval or merge is not the
	// seed's step.
	start := time.Now()
	done := func() {
		w.observeAt(start, person(user), sequence.GitLab, fmt.Sprintf("%s merge request !%d", verb, w.mr.IID))
	}
	switch action {
	case "approves", "approve":
		if err := c.Approve(w.mr.Repo, w.mr.IID); err != nil {
			return err
		}
		done()
		return nil
	default:
		mr, err := c.Merge(w.mr.Repo, w.mr.IID)
		if err != nil {
			return err
		}
		done()
		w.mr = &mr
		w.lastPush = pushEvent{at: time.Now(), repo: mr.Repo, sha: mr.MergeCommit}
		return nil
	}
}

func (w *World) mergeRequestAction(ctx context.Context, user, action string) error {
	return w.doMergeRequestAction(user, action)
}

func (w *World) tryMergeRequestAction(ctx context.Context, user, action string) error {
	if err := w.requireMR(); err != nil {
		return err
	}
	w.lastErr = w.doMergeRequestAction(user, action)
	if w.lastErr == nil {
		w.lastErr = errNoError
	}
	return nil
}
