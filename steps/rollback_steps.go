package steps

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/reports/sequence"
)

func (w *World) rollbackSteps() []StepDef {
	return []StepDef{
		{Pattern: `^the argocd CLI history of "([^"]*)" lists:$`,
			Doc:     "Runs the real `argocd app history NAME` and asserts each row's ID is at the commit pushed with that message (\"initial\" for the repository's first, imported commit).",
			Example: `Then the argocd CLI history of "q-sign" lists:`,
			Fn:      w.cliHistoryLists},
		{Pattern: `^the admin tries to roll back "([^"]*)" to history ID (\d+) with the argocd CLI$`,
			Doc:     "Runs `argocd app rollback NAME ID` and records a refusal for a later `the argocd CLI refuses with ...` step.",
			Example: `When the admin tries to roll back "q-sign" to history ID 4 with the argocd CLI`,
			Fn:      w.tryRollback},
		{Pattern: `^the argocd CLI refuses with "([^"]*)"$`,
			Doc:     "Asserts the last `tries to` CLI command failed with this text in Argo CD's answer.",
			Example: `Then the argocd CLI refuses with "rollback cannot be initiated when auto-sync is enabled"`,
			Fn:      w.cliRefused},
		{Pattern: `^the admin disables auto-sync of "([^"]*)" with the argocd CLI$`,
			Doc:     "Runs `argocd app set NAME --sync-policy none`.",
			Example: `When the admin disables auto-sync of "q-sign" with the argocd CLI`,
			Fn:      w.cliDisableAutoSync},
		{Pattern: `^the admin rolls back "([^"]*)" to history ID (\d+) with the argocd CLI$`,
			Doc:     "Runs `argocd app rollback NAME ID` (it waits for the operation) and fails if Argo CD refuses.",
			Example: `When the admin rolls back "q-sign" to history ID 4 with the argocd CLI`,
			Fn:      w.cliRollback},
		{Pattern: `^within (\d+)s the deployment "([^"]*)" in "([^"]*)" runs only image tag "([^"]*)"$`,
			Doc:     "Waits until every pod of the Deployment runs an image with this tag and the rollout is complete (old pods terminated).",
			Example: `Then within 30s the deployment "keycloak" in "q-sign" runs only image tag "v1.0.2"`,
			Fn:      w.runsOnlyTag},
		{Pattern: `^the newest history entry of "([^"]*)" is ID (\d+) at the commit "([^"]*)"$`,
			Doc:     "Asserts the last status.history entry's ID and revision (the commit pushed with that message).",
			Example: `And the newest history entry of "q-sign" is ID 6 at the commit "Release v1.0.2"`,
			Fn:      w.newestHistory},
	}
}

func (w *World) commitFor(message string) (string, error) {
	sha, ok := w.commits[message]
	if !ok {
		var known []string
		for m := range w.commits {
			known = append(known, fmt.Sprintf("%q", m))
		}
		return "", fmt.Errorf("no commit %q was pushed in this scenario (known: %s)", message, strings.Join(known, ", "))
	}
	return sha, nil
}

func (w *World) cliHistoryLists(ctx context.Context, name string, table *godog.Table) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	rows, err := tableRows(table, "id", "commit")
	if err != nil {
		return err
	}
	w.observe(sequence.Admin, sequence.ArgoCD, "argocd app history "+name)
	out, err := e.CLI(ctx, "app", "history", name)
	if err != nil {
		return err
	}
	w.observe(sequence.ArgoCD, sequence.Admin, fmt.Sprintf("← revision history: %d entries", strings.Count(strings.TrimSpace(out), "\n")))
	history := engine.ParseCLIHistory(out)
	for _, r := range rows {
		sha, err := w.commitFor(r["commit"])
		if err != nil {
			return err
		}
		id, err := strconv.Atoi(r["id"])
		if err != nil {
			return fmt.Errorf("history ID %q: %w", r["id"], err)
		}
		if err := history.CheckRevision(id, sha); err != nil {
			return fmt.Errorf("argocd app history %s (%q): %w:\n%s", name, r["commit"], err, out)
		}
	}
	return nil
}

func (w *World) tryRollback(ctx context.Context, name string, id int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, w.lastErr = e.CLI(ctx, "app", "rollback", name, strconv.Itoa(id), "--timeout", "60")
	if w.lastErr == nil {
		w.lastErr = errNoError
	}
	return nil
}

func (w *World) cliRefused(ctx context.Context, text string) error {
	return w.refusedWith("the argocd CLI command", text)
}

func (w *World) cliDisableAutoSync(ctx context.Context, name string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = e.CLI(ctx, "app", "set", name, "--sync-policy", "none")
	return err
}

func (w *World) cliRollback(ctx context.Context, name string, id int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = e.CLI(ctx, "app", "rollback", name, strconv.Itoa(id), "--timeout", "60")
	if err == nil {
		w.observeAt(start, sequence.Admin, sequence.ArgoCD, fmt.Sprintf("argocd app rollback %s %d", name, id))
		w.observe(sequence.ArgoCD, sequence.Admin, fmt.Sprintf("← rolled back to revision %d", id))
	}
	return err
}

func (w *World) runsOnlyTag(ctx context.Context, seconds int, name, ns, tag string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("deployment %s/%s to run only %s", ns, name, tag), time.Duration(seconds)*time.Second,
		e.DeploymentRunsOnly(ns, name, tag))
	return err
}

func (w *World) newestHistory(ctx context.Context, name string, id int, message string) error {
	sha, err := w.commitFor(message)
	if err != nil {
		return err
	}
	return w.awaitApp(ctx, name, fmt.Sprintf("history entry %d of %s", id, name), 10*time.Second, false, func(a *engine.Application) await.Result {
		h := a.Status.History
		if len(h) == 0 {
			return await.Waiting("no history")
		}
		last := h[len(h)-1]
		if last.ID == int64(id) && last.Revision == sha {
			w.observe(sequence.ArgoCD, sequence.ArgoCD, fmt.Sprintf("history entry: ID %d at %s (deployed %s)", last.ID, short(last.Revision), last.DeployedAt.Format(time.TimeOnly)))
			return await.Passed("ID %d at %s", last.ID, short(last.Revision))
		}
		return await.Waiting("newest entry is ID %d at %s", last.ID, short(last.Revision))
	})
}
