package steps

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/cucumber/godog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/fixtures/gitserver"
	"github.com/rehearse/rehearse/fixtures/values"
	"github.com/rehearse/rehearse/fixtures/workspace"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/reports/sequence"
)

func (w *World) syncSteps() []StepDef {
	return []StepDef{
		{Pattern: `^the admin applies the Application "([^"]*)"$`,
			Doc:     "Applies an Application YAML file (path relative to the feature file, else to the directory Rehearse runs in), repoURLs rewritten like the inline form.",
			Example: `Given the admin applies the Application "applications/q-sign-auto.yaml"`,
			Fn:      w.applyApplicationFile},
		{Pattern: `^the developer sets "([^"]*)" to "([^"]*)" in "([^"]*)" of "([^"]*)" and pushes "([^"]*)"$`,
			Doc:     "Clones main as the developer, sets one YAML key (dotted path) keeping comments and layout, commits with the message and pushes. The push time and commit are remembered.",
			Example: `When the developer sets "replicaCount" to "3" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Scale keycloak to 3"`,
			Fn:      w.setValueAndPush},
		{Pattern: `^the developer pushes "([^"]*)" setting in "([^"]*)" of "([^"]*)":$`,
			Doc:     "Like the one-key form, for several keys in one commit: a table of key | value rows (dotted paths).",
			Example: `When the developer pushes "Release v1.0.3" setting in "helm/keycloak-pqc/values.yaml" of "root/q-sign":`,
			Fn:      w.setValuesAndPush},
		{Pattern: `^the developer deletes "([^"]*)" of "([^"]*)" and pushes "([^"]*)"$`,
			Doc:     "Clones main as the developer, deletes a file or directory, commits with the message and pushes.",
			Example: `When the developer deletes "helm/keycloak-pqc/templates/service.yaml" of "root/q-sign" and pushes "Drop the Service"`,
			Fn:      w.deleteAndPush},
		{Pattern: `^the Git server sends push webhooks to Argo CD$`,
			Doc:     "Registers argocd-server's /api/webhook as a GitLab push webhook of the scenario's Git server.",
			Example: `Given the Git server sends push webhooks to Argo CD`,
			Fn:      w.webhookToArgo},
		{Pattern: `^Argo CD detects the push by polling, not before its next poll$`,
			Doc:     "Waits for the application to move to the pushed commit and asserts it happened no earlier than the app's last reconciliation plus the (compressed) poll interval, and within two intervals plus 5 s.",
			Example: `Then Argo CD detects the push by polling, not before its next poll`,
			Fn:      w.detectedByPolling},
		{Pattern: `^within (\d+)s the application "([^"]*)" is synced to the pushed commit$`,
			Doc:     "Waits until the application is Synced at the commit of the scenario's last push.",
			Example: `Then within 5s the application "q-sign" is synced to the pushed commit`,
			Fn:      w.syncedToPush},
		{Pattern: `^argocd-server logged a webhook refresh of "([^"]*)"$`,
			Doc:     "Asserts the Git server delivered the push webhook (HTTP 2xx) and argocd-server's log shows the refresh it requested for the app.",
			Example: `And argocd-server logged a webhook refresh of "q-sign"`,
			Fn:      w.webhookRefreshLogged},
		{Pattern: `^within (\d+)s (\d+) pods? of deployment "([^"]*)" in "([^"]*)" (?:was|were) created after the push$`,
			Doc:     "Waits until this many pods of the Deployment were created after the scenario's last push (the seed's \"Create 2 new pods\").",
			Example: `And within 30s 2 pods of deployment "keycloak" in "q-sign" were created after the push`,
			Fn:      w.podsCreatedAfterPush},
		{Pattern: `^the application "([^"]*)" stays "([^"]*)" for (\d+) polls?$`,
			Doc:     "Asserts the sync status holds for this many (compressed) poll intervals.",
			Example: `Then the application "q-sign" stays "OutOfSync" for 2 polls`,
			Fn:      w.staysForPolls},
		{Pattern: `^within (\d+)s the application "([^"]*)" is "([^"]*)"$`,
			Doc:     "Waits until the sync status (Synced, OutOfSync, Unknown) is reached.",
			Example: `Then within 10s the application "q-sign" is "OutOfSync"`,
			Fn:      w.syncStatusWithin},
		{Pattern: `^the argocd CLI diff of "([^"]*)" shows "([^"]*)" changing from "([^"]*)" to "([^"]*)"$`,
			Doc:     "Runs the real `argocd app diff` and asserts the live line and the desired line of the field appear as removed and added.",
			Example: `And the argocd CLI diff of "q-sign" shows "replicas" changing from "1" to "3"`,
			Fn:      w.cliDiff},
		{Pattern: `^the (admin|developer) syncs "([^"]*)" with the argocd CLI$`,
			Doc:     "Runs the real `argocd app sync NAME` (it waits for the operation) against argocd-server, as that person.",
			Example: `When the admin syncs "q-sign" with the argocd CLI`,
			Fn:      w.cliSync},
		{Pattern: `^the last sync of "([^"]*)" was initiated by "([^"]*)"$`,
			Doc:     "Asserts who started the last operation: \"automated\" for auto-sync and self-heal, else the user name.",
			Example: `And the last sync of "q-sign" was initiated by "automated"`,
			Fn:      w.lastSyncInitiatedBy},
		{Pattern: `^the application "([^"]*)" has (\d+) history entr(?:y|ies)$`,
			Doc:     "Asserts the number of entries in status.history (full successful syncs only).",
			Example: `And the application "q-sign" has 2 history entries`,
			Fn:      w.historyCount},
		{Pattern: `^Argo CD polls the repository of "([^"]*)"$`,
			Doc:     "Triggers exactly the refresh a poll would (a normal refresh of the app), without waiting for the poll interval.",
			Example: `When Argo CD polls the repository of "q-sign"`,
			Fn:      w.pollNow},
		{Pattern: `^the operator scales deployment "([^"]*)" in "([^"]*)" to (\d+) replicas (\d+) times back to back, each reverted after Argo CD's self-heal backoff$`,
			Doc:     "Drifts the Deployment N times, each right after the previous revert, and asserts each revert waited the controller's self-heal backoff (0, then base x factor^(n-2), as configured for the run's time scale; whole seconds).",
			Example: `Then the operator scales deployment "keycloak" in "q-sign" to 5 replicas 3 times back to back, each reverted after Argo CD's self-heal backoff`,
			Fn:      w.healBackoff},
		{Pattern: `^the operator scales deployment "([^"]*)" in "([^"]*)" to (\d+) replicas$`,
			Doc:     "Changes the Deployment's scale subresource, as `kubectl scale deployment NAME --replicas=N` does.",
			Example: `When the operator scales deployment "keycloak" in "q-sign" to 5 replicas`,
			Fn:      w.scaleDeployment},
		{Pattern: `^within (\d+)s the deployment "([^"]*)" in "([^"]*)" is back to (\d+) replicas$`,
			Doc:     "Waits until spec.replicas is N again and N pods are ready (drift reverted).",
			Example: `Then within 10s the deployment "keycloak" in "q-sign" is back to 3 replicas`,
			Fn:      w.backToReplicas},
		{Pattern: `^the deployment "([^"]*)" in "([^"]*)" stays at (\d+) replicas for (\d+) polls?$`,
			Doc:     "Asserts spec.replicas holds for this many (compressed) poll intervals.",
			Example: `Then the deployment "keycloak" in "q-sign" stays at 5 replicas for 2 polls`,
			Fn:      w.staysAtReplicas},
	}
}

func (w *World) applyApplicationFile(ctx context.Context, file string) error {
	full, b, err := w.readProjectFile(file, "the Application file")
	if err != nil {
		return err
	}
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	app, err := e.ApplyApplication(ctx, full, b, w.rewriter)
	if err != nil {
		return err
	}
	w.apps = append(w.apps, app.Name)
	w.observe(sequence.Admin, sequence.ArgoCD, fmt.Sprintf("kubectl apply -f %s (Application %s)", path.Base(file), app.Name))
	return w.rememberDestination(ctx, app.Name, app.Spec.Destination)
}

func (w *World) setValueAndPush(ctx context.Context, key, value, file, repo, message string) error {
	return w.pushValues(ctx, message, file, repo, [][2]string{{key, value}})
}

func (w *World) setValuesAndPush(ctx context.Context, message, file, repo string, table *godog.Table) error {
	rows, err := tableRows(table, "key", "value")
	if err != nil {
		return err
	}
	var kv [][2]string
	for _, r := range rows {
		kv = append(kv, [2]string{r["key"], r["value"]})
	}
	return w.pushValues(ctx, message, file, repo, kv)
}

// pushValues edits keys of one YAML file on main as the developer.
func (w *World) pushValues(ctx context.Context, message, file, repo string, kv [][2]string) error {
	return w.pushValuesTo(ctx, message, file, repo, "main", kv)
}

func (w *World) pushValuesTo(ctx context.Context, message, file, repo, branch string, kv [][2]string) (err error) {
	var changes []string
	for _, p := range kv {
		changes = append(changes, p[0]+": "+p[1])
	}
	start := time.Now()
	defer func() {
		if err == nil {
			w.observeAt(start, sequence.Developer, sequence.GitLab, fmt.Sprintf("update %s (%s)", path.Base(file), strings.Join(changes, ", ")))
		}
	}()
	return w.pushChange(ctx, message, repo, branch, func(ws *workspace.Workspace) error {
		doc, err := ws.ReadFile(file)
		if err != nil {
			return err
		}
		for _, p := range kv {
			if doc, err = values.Set(doc, p[0], p[1]); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
		}
		return ws.WriteFile(file, doc)
	})
}

func (w *World) deleteAndPush(ctx context.Context, path, repo, message string) error {
	return w.pushChange(ctx, message, repo, "main", func(ws *workspace.Workspace) error { return ws.Remove(path) })
}

// pushChange clones branch as the developer (a new branch starts from
// main), applies edit, commits, pushes, and remembers the
// push (commit, time, pods alive then).
func (w *World) pushChange(ctx context.Context, message, repo, branch string, edit func(*workspace.Workspace) error) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	_, headErr := s.Head(repo, branch)
	sha, err := workspace.PushChange(s.RepoURL(repo), branch, headErr == nil, developerUser, w.passwords[developerUser], message, edit)
	if err != nil {
		return err
	}
	w.lastPush = pushEvent{at: time.Now(), repo: repo, sha: sha}
	w.appPush = w.lastPush
	w.observe(sequence.Developer, sequence.GitLab, fmt.Sprintf("git commit & push origin %s: %s", branch, message))
	w.commits[message] = sha
	// Remember which pods exist now: "created after the push" means not
	// among these (creation timestamps have whole-second precision only).
	if e := w.env.Engine(); e != nil {
		pods, err := e.Kube().CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		w.lastPush.podsBefore = map[types.UID]bool{}
		for _, p := range pods.Items {
			w.lastPush.podsBefore[p.UID] = true
		}
	}
	return nil
}

func (w *World) webhookToArgo(ctx context.Context) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	s.AddWebhook(e.WebhookURL(), "", "")
	return nil
}

func (w *World) requirePush() error {
	if w.lastPush.sha == "" {
		return fmt.Errorf("no push happened earlier in this scenario")
	}
	return nil
}

// appForPush finds the scenario's app tracking the pushed repository.
func (w *World) appForPush(ctx context.Context, e *engine.Engine) (*engine.Application, error) {
	for _, name := range w.apps {
		app, err := e.Application(ctx, name)
		if err != nil {
			continue
		}
		if app.Spec.Source != nil && strings.HasSuffix(app.Spec.Source.RepoURL, "/"+w.lastPush.repo+".git") {
			return app, nil
		}
	}
	return nil, fmt.Errorf("no Application of this scenario tracks %s", w.lastPush.repo)
}

func (w *World) detectedByPolling(ctx context.Context) error {
	if err := w.requirePush(); err != nil {
		return err
	}
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	app, err := w.appForPush(ctx, e)
	if err != nil {
		return err
	}
	if app.Status.ReconciledAt == nil {
		return fmt.Errorf("application %s was never reconciled", app.Name)
	}
	poll := engine.PollDetection{Push: w.lastPush.at, ReconciledAt: *app.Status.ReconciledAt, Poll: e.PollInterval()}
	var detectedAt time.Time
	_, err = await.Eventually(ctx, fmt.Sprintf("application %s to move to commit %s", app.Name, short(w.lastPush.sha)), poll.Timeout(),
		w.appCheck(e, app.Name, func(a *engine.Application) await.Result {
			if a.Status.Sync.Revision == w.lastPush.sha {
				detectedAt = time.Now()
				return await.Passed("%s", a.Summary())
			}
			return await.Waiting("%s", a.Summary())
		}))
	if err != nil {
		return err
	}
	if err := poll.Check(detectedAt); err != nil {
		return fmt.Errorf("application %s %w", app.Name, err)
	}
	// When a poll was already due at the push, timing cannot tell a poll
	// from a push webhook: the Git server's deliveries can.
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	if d, ok := gitserver.DeliveryBetween(s.Deliveries(), e.WebhookURL(), w.lastPush.at, detectedAt); ok {
		return fmt.Errorf("a push webhook (%s, status %d) reached Argo CD %s after the push, before it moved to the commit: the refresh may be the webhook's, not a poll's",
			d.Ref, d.Status, d.Time.Sub(w.lastPush.at).Round(10*time.Millisecond))
	}
	return nil
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

func (w *World) syncedToPush(ctx context.Context, seconds int, name string) error {
	if err := w.requirePush(); err != nil {
		return err
	}
	return w.awaitApp(ctx, name, fmt.Sprintf("application %s to be Synced at %s", name, short(w.lastPush.sha)), time.Duration(seconds)*time.Second, false, func(a *engine.Application) await.Result {
		if a.Status.Sync.Revision == w.lastPush.sha && a.Status.Sync.Status == "Synced" {
			return await.Passed("%s", a.Summary())
		}
		return await.Waiting("%s", a.Summary())
	})
}

func (w *World) webhookRefreshLogged(ctx context.Context, name string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	delivered := false
	for _, d := range s.Deliveries() {
		if d.After == w.lastPush.sha && d.Status/100 == 2 {
			delivered = true
		}
	}
	if !delivered {
		return fmt.Errorf("no successful webhook delivery for commit %s: %+v", short(w.lastPush.sha), s.Deliveries())
	}
	_, err = await.Eventually(ctx, "argocd-server to log the webhook refresh of "+name, 5*time.Second, func(context.Context) await.Result {
		log := e.Logs("argocd-server", 400)
		if strings.Contains(log, "Requested app '"+name+"' refresh") {
			return await.Passed("refresh logged")
		}
		return await.Waiting("no \"Requested app '%s' refresh\" in argocd-server's log", name)
	})
	return err
}

func (w *World) podsCreatedAfterPush(ctx context.Context, seconds, count int, deployment, ns string) error {
	if err := w.requirePush(); err != nil {
		return err
	}
	return w.awaitPods(ctx, deployment, ns, fmt.Sprintf("%d new pods of %s/%s", count, ns, deployment), time.Duration(seconds)*time.Second,
		func(pods []corev1.Pod) await.Result {
			n := 0
			for _, p := range pods {
				if !w.lastPush.podsBefore[p.UID] && engine.PodReady(&p) {
					n++
				}
			}
			if n == count {
				return await.Passed("%d ready pods created after the push", n)
			}
			return await.Waiting("%d ready pods created after the push (of %d)", n, len(pods))
		})
}

// awaitPods waits until check passes on the pods of a Deployment (found by
// its selector) in the cluster Argo CD runs in.
func (w *World) awaitPods(ctx context.Context, deployment, ns, what string, d time.Duration, check func([]corev1.Pod) await.Result) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, what, d, func(ctx context.Context) await.Result {
		// Looked up at every poll: the Deployment may not exist yet (Argo
		// CD has not synced it) or be replaced.
		dep, err := e.Kube().AppsV1().Deployments(ns).Get(ctx, deployment, metav1.GetOptions{})
		if err != nil {
			return await.Waiting("deployment %s/%s: %v", ns, deployment, err)
		}
		selector, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
		if err != nil {
			return await.Failed("deployment %s/%s: its selector: %v", ns, deployment, err)
		}
		pods, err := e.Kube().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return await.Waiting("%v", err)
		}
		return check(pods.Items)
	})
	return err
}

func (w *World) staysForPolls(ctx context.Context, name, status string, polls int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	d := time.Duration(polls) * e.PollInterval()
	_, err = await.Consistently(ctx, fmt.Sprintf("application %s to stay %s for %s", name, status, d), d,
		w.appCheck(e, name, func(a *engine.Application) await.Result {
			if a.Status.Sync.Status == status {
				return await.Passed("%s", a.Summary())
			}
			return await.Failed("%s", a.Summary())
		}))
	return err
}

func (w *World) syncStatusWithin(ctx context.Context, seconds int, name, status string) error {
	return w.awaitApp(ctx, name, fmt.Sprintf("application %s to be %s", name, status), time.Duration(seconds)*time.Second, false, func(a *engine.Application) await.Result {
		if a.Status.Sync.Status == status {
			return await.Passed("%s", a.Summary())
		}
		return await.Waiting("%s", a.Summary())
	})
}

func (w *World) cliDiff(ctx context.Context, name, field, from, to string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	// argocd app diff exits 1 when there is a difference: that is the
	// expected outcome here, so only the output is judged.
	out, _ := e.CLI(ctx, "app", "diff", name)
	removed, added := false, false
	for _, line := range strings.Split(out, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "<") && strings.TrimSpace(strings.TrimPrefix(t, "<")) == field+": "+from {
			removed = true
		}
		if strings.HasPrefix(t, ">") && strings.TrimSpace(strings.TrimPrefix(t, ">")) == field+": "+to {
			added = true
		}
	}
	if !removed || !added {
		return fmt.Errorf("argocd app diff %s does not show %s: %s -> %s:\n%s", name, field, from, to, out)
	}
	return nil
}

func (w *World) cliSync(ctx context.Context, who, name string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	role := sequence.Admin
	if who == "developer" {
		role = sequence.Developer
	}
	start := time.Now()
	_, err = e.CLI(ctx, "app", "sync", name, "--timeout", "60")
	if err == nil {
		w.observeAt(start, role, sequence.ArgoCD, "argocd app sync "+name)
		w.observe(sequence.ArgoCD, role, "← "+name+" synced")
	}
	return err
}

func (w *World) lastSyncInitiatedBy(ctx context.Context, name, who string) error {
	_, app, err := w.liveApp(ctx, name)
	if err != nil {
		return err
	}
	op := app.Status.OperationState
	if op == nil {
		return fmt.Errorf("application %s has no operation: %s", name, app.Summary())
	}
	got := op.Operation.InitiatedBy.Username
	if op.Operation.InitiatedBy.Automated {
		got = "automated"
	}
	if got != who {
		return fmt.Errorf("last operation of %s was initiated by %q, want %q", name, got, who)
	}
	return nil
}

func (w *World) historyCount(ctx context.Context, name string, n int) error {
	_, app, err := w.liveApp(ctx, name)
	if err != nil {
		return err
	}
	if len(app.Status.History) != n {
		var ids []string
		for _, h := range app.Status.History {
			ids = append(ids, fmt.Sprintf("%d@%s", h.ID, short(h.Revision)))
		}
		return fmt.Errorf("application %s has %d history entries (%s), want %d", name, len(app.Status.History), strings.Join(ids, ", "), n)
	}
	return nil
}

func (w *World) scaleDeployment(ctx context.Context, name, ns string, replicas int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	err = e.ScaleDeployment(ctx, ns, name, replicas)
	if err == nil {
		w.observeAt(start, sequence.Operator, sequence.Kubernetes, fmt.Sprintf("kubectl scale deployment %s --replicas=%d", name, replicas))
		w.observe(sequence.Kubernetes, sequence.Kubernetes, fmt.Sprintf("scale deployment %s to %d replicas", name, replicas))
		w.observe(sequence.Kubernetes, sequence.Operator, "← deployment scaled")
	}
	return err
}

func (w *World) backToReplicas(ctx context.Context, seconds int, name, ns string, replicas int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("deployment %s/%s back to %d replicas", ns, name, replicas), time.Duration(seconds)*time.Second,
		e.DeploymentAtReplicas(ns, name, replicas, true))
	if err == nil {
		w.observe(sequence.ArgoCD, sequence.Operator, fmt.Sprintf("← manual change reverted: replicas back to %d", replicas))
	}
	return err
}

func (w *World) staysAtReplicas(ctx context.Context, name, ns string, replicas, polls int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	d := time.Duration(polls) * e.PollInterval()
	_, err = await.Consistently(ctx, fmt.Sprintf("deployment %s/%s to stay at %d replicas for %s", ns, name, replicas, d), d,
		func(ctx context.Context) await.Result {
			dep, err := e.Kube().AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return await.Failed("%v", err)
			}
			if int(*dep.Spec.Replicas) == replicas {
				return await.Passed("spec.replicas=%d", *dep.Spec.Replicas)
			}
			return await.Failed("spec.replicas=%d", *dep.Spec.Replicas)
		})
	return err
}

func (w *World) pollNow(ctx context.Context, name string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	return e.Refresh(ctx, name, false)
}

// healBackoff drifts the Deployment n times back to back and checks each
// revert waited Argo CD's self-heal backoff: none for the first, then
// base, base*factor, ... (as configured, compressed).
func (w *World) healBackoff(ctx context.Context, name, ns string, replicas, n int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	backoff := e.HealBackoff()
	d, err := e.Kube().AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	desired := int(*d.Spec.Replicas)
	var report []string
	for i := 1; i <= n; i++ {
		expected := backoff.Wait(i)
		start := time.Now()
		if err := w.scaleDeployment(ctx, name, ns, replicas); err != nil {
			return err
		}
		_, err := await.Eventually(ctx, fmt.Sprintf("drift %d of %s/%s reverted to %d", i, ns, name, desired), expected+15*time.Second,
			e.DeploymentAtReplicas(ns, name, desired, false))
		if err != nil {
			return err
		}
		took := time.Since(start)
		report = append(report, fmt.Sprintf("drift %d reverted after %s (backoff %s)", i, took.Round(10*time.Millisecond), expected))
		if err := backoff.CheckRevert(i, took); err != nil {
			return fmt.Errorf("%w: %s", err, strings.Join(report, "; "))
		}
		if err := w.backToReplicas(ctx, 15, name, ns, desired); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "rehearse: self-heal backoff of %s/%s: %s\n", ns, name, strings.Join(report, "; "))
	return nil
}
