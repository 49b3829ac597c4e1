package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cucumber/godog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/reports/sequence"
)

func (w *World) applicationSteps() []StepDef {
	return []StepDef{
		{Pattern: `^the admin applies the Application:$`,
			Doc:     "Applies the Application YAML in the doc string as `kubectl apply` would (repoURLs rewritten through the scenario's table). Fails if it is refused.",
			Example: `When the admin applies the Application:`,
			Fn:      w.applyApplication},
		{Pattern: `^the admin tries to apply the Application:$`,
			Doc:     "Like `the admin applies the Application:` but records a refusal for a later `applying it fails ...` step instead of failing.",
			Example: `When the admin tries to apply the Application:`,
			Fn:      w.tryApplyApplication},
		{Pattern: `^applying it fails with an error containing "([^"]*)"$`,
			Doc:     "Asserts the last `tries to apply` was refused, with this text in the error.",
			Example: `Then applying it fails with an error containing "no rewrite rule maps it"`,
			Fn:      w.applyFailedWith},
		{Pattern: `^no Application named "([^"]*)" exists$`,
			Doc:     "Asserts that nothing was applied: the Application is absent from the cluster.",
			Example: `Then no Application named "q-sign" exists`,
			Fn:      w.noApplication},
		{Pattern: `^within (\d+)s the application "([^"]*)" is "([^"]*)" and "([^"]*)"$`,
			Doc:     "Waits until Argo CD reports the sync status (Synced, OutOfSync) and health (Healthy, Progressing, Degraded, ...).",
			Example: `Then within 30s the application "q-sign" is "Synced" and "Healthy"`,
			Fn:      w.appStatusWithin},
		{Pattern: `^within (\d+)s Argo CD has parsed and validated the Application "([^"]*)"$`,
			Doc: "Waits until Argo CD's controller has compared the application against exactly its spec's source and destination " +
				"(status.sync.comparedTo) with no error condition (InvalidSpecError, ComparisonError, ...).",
			Example: `Then within 30s Argo CD has parsed and validated the Application "q-sign"`,
			Fn:      w.appAccepted},
		{Pattern: `^the application "([^"]*)" is synced to the head of "([^"]*)" of "([^"]*)"$`,
			Doc:     "Asserts status.sync.revision is the commit the branch points at on the Git server.",
			Example: `And the application "q-sign" is synced to the head of "main" of "root/q-sign"`,
			Fn:      w.appAtHead},
		{Pattern: `^the last sync of "([^"]*)" applied:$`,
			Doc:     "Waits until no operation is running, asserts the last one Succeeded, and that each kind/name of the table (Deployment, Service, ConfigMap) in the destination namespace was written by Argo CD's controller (its field manager).",
			Example: `And the last sync of "q-sign" applied:`,
			Fn:      w.lastSyncApplied},
		{Pattern: `^the application "([^"]*)" manages exactly:$`,
			Doc: "The objects Argo CD rendered from the app's source (status.resources), table kind | name, are exactly these: what a " +
				"directory's recurse, include and exclude, a chart's values or an overlay select, and nothing else.",
			Example: "Then the application \"shop\" manages exactly:\n  | kind       | name    |\n  | Deployment | backend |",
			Fn:      w.appManagesExactly},
		{Pattern: `^the first sync of "([^"]*)" applied "([^"]*)" in this order$`,
			Doc: "From the application controller's log since the scenario began: each object (kind/name, comma-separated) was first " +
				"applied after the one before it. Sync waves order a sync so, each wave once the one before is healthy; without waves, " +
				"Argo CD applies a wave's kinds in its own order (a ConfigMap before a Deployment).",
			Example: `Then the first sync of "shop" applied "Deployment/backend, ConfigMap/frontend-config, Deployment/frontend" in this order`,
			Fn:      w.appliedInOrder},
		{Pattern: `^within (\d+)s the application "([^"]*)" has a "([^"]*)" condition containing "([^"]*)"$`,
			Doc:     "Waits until Argo CD sets a condition of this type (ComparisonError, InvalidSpecError, SyncError, ...) whose message contains the text.",
			Example: `Then within 30s the application "q-sign" has a "ComparisonError" condition containing "repository not found"`,
			Fn:      w.appConditionWithin},
		{Pattern: `^the application "([^"]*)" has deployed nothing$`,
			Doc:     "Asserts Argo CD ran no sync for the app: no operation, no history, no live resources it reports as deployed.",
			Example: `And the application "q-sign" has deployed nothing`,
			Fn:      w.appDeployedNothing},
		{Pattern: `^none of the objects of "([^"]*)" exists in the cluster$`,
			Doc: "Asserts a failed sync applied nothing: the application lists the objects it should manage (at least one), " +
				"and none of them exists in the cluster (a namespace that CreateNamespace made before the sync is not one of them).",
			Example: `And none of the objects of "q-sign" exists in the cluster`,
			Fn:      w.noObjectApplied},
		{Pattern: `^of the objects of "([^"]*)", the cluster has only:$`,
			Doc: "Asserts which of the objects the application should manage exist in the cluster (table: kind, name), " +
				"e.g. what a sync that failed part-way had already applied.",
			Example: `Then of the objects of "q-sign", the cluster has only:`,
			Fn:      w.onlyObjectsApplied},
		{Pattern: `^the argocd CLI shows "([^"]*)" as "([^"]*)" and "([^"]*)"$`,
			Doc:     "Runs the real `argocd app get NAME -o json` against argocd-server and checks sync and health status.",
			Example: `And the argocd CLI shows "q-sign" as "Synced" and "Healthy"`,
			Fn:      w.cliShows},
	}
}

func (w *World) apply(ctx context.Context, doc *godog.DocString) (*engine.Application, error) {
	e, err := w.engine(ctx)
	if err != nil {
		return nil, err
	}
	source := fmt.Sprintf("application in scenario %q", w.scenario)
	app, err := e.ApplyApplication(ctx, source, []byte(doc.Content), w.rewriter)
	if err != nil {
		return nil, err
	}
	w.apps = append(w.apps, app.Name)
	w.observe(sequence.Admin, sequence.ArgoCD, "kubectl apply -f application.yaml (Application "+app.Name+")")
	return app, w.rememberDestination(ctx, app.Name, app.Spec.Destination)
}

func (w *World) applyApplication(ctx context.Context, doc *godog.DocString) error {
	_, err := w.apply(ctx, doc)
	return err
}

func (w *World) tryApplyApplication(ctx context.Context, doc *godog.DocString) error {
	if _, err := w.engine(ctx); err != nil {
		return err
	}
	_, w.lastErr = w.apply(ctx, doc)
	if w.lastErr == nil {
		w.lastErr = errNoError
	}
	return nil
}

var errNoError = errors.New("(it was accepted)")

func (w *World) applyFailedWith(ctx context.Context, text string) error {
	return w.refusedWith("the Application", text)
}

// refusedWith checks the outcome recorded by the last "tries to" step.
func (w *World) refusedWith(what, text string) error {
	if w.lastErr == nil {
		return errors.New("no `tries to` step ran before this one")
	}
	if w.lastErr == errNoError {
		return fmt.Errorf("%s was accepted, want a refusal containing %q", what, text)
	}
	if !strings.Contains(w.lastErr.Error(), text) {
		return fmt.Errorf("refusal %q does not contain %q", w.lastErr.Error(), text)
	}
	return nil
}

func (w *World) noApplication(ctx context.Context, name string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	app, err := e.Application(ctx, name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("Application %s exists: %s", name, app.Summary())
}

// appCheck turns a predicate on the live app into an await.Check.
func (w *World) appCheck(e *engine.Engine, name string, pred func(*engine.Application) await.Result) await.Check {
	return func(ctx context.Context) await.Result {
		if err := e.Healthy(); err != nil {
			return await.Failed("Argo CD component died: %v", err)
		}
		app, err := e.Application(ctx, name)
		if err != nil {
			return await.Waiting("reading Application %s: %v", name, err)
		}
		return pred(app)
	}
}

func (w *World) appStatusWithin(ctx context.Context, seconds int, name, sync, health string) error {
	return w.awaitApp(ctx, name, fmt.Sprintf("application %s to be %s and %s", name, sync, health), time.Duration(seconds)*time.Second, false, func(app *engine.Application) await.Result {
		if app.Status.Sync.Status == sync && app.Status.Health.Status == health {
			w.observe(sequence.ArgoCD, sequence.Admin, fmt.Sprintf("← application %s %s, %s", name, sync, health))
			return await.Passed("%s", app.Summary())
		}
		return await.Waiting("%s", app.Summary())
	})
}

func (w *World) appAtHead(ctx context.Context, name, branch, repo string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	head, err := s.Head(repo, branch)
	if err != nil {
		return err
	}
	app, err := e.Application(ctx, name)
	if err != nil {
		return err
	}
	if app.Status.Sync.Revision != head {
		return fmt.Errorf("application %s is at revision %q, %s of %s is %s", name, app.Status.Sync.Revision, branch, repo, head)
	}
	return nil
}

func (w *World) appAccepted(ctx context.Context, seconds int, name string) error {
	return w.awaitApp(ctx, name, "Argo CD to parse and validate "+name, time.Duration(seconds)*time.Second, false, func(a *engine.Application) await.Result {
		if err := a.Accepted(); err != nil {
			return await.Waiting("%v", err)
		}
		return await.Passed("%s", a.Summary())
	})
}

func (w *World) lastSyncApplied(ctx context.Context, name string, table *godog.Table) error {
	rows, err := tableRows(table, "kind", "name")
	if err != nil {
		return err
	}
	// Self-heal may start a follow-up operation right after the first sync;
	// judge the state once no operation is running.
	var app *engine.Application
	err = w.awaitApp(ctx, name, "no running operation on "+name, 30*time.Second, false, func(a *engine.Application) await.Result {
		app = a
		if op := a.Status.OperationState; op != nil && op.Phase != "Running" {
			return await.Passed("%s", a.Summary())
		}
		return await.Waiting("%s", a.Summary())
	})
	if err != nil {
		return err
	}
	if op := app.Status.OperationState; op.Phase != "Succeeded" {
		return fmt.Errorf("last operation of %s is %s: %s", name, op.Phase, op.Message)
	}
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	// The API server's record of who wrote each object is the evidence that
	// Argo CD applied it (a later partial self-heal sync lists only what it
	// re-applied, so the sync result alone is not enough).
	ns := app.Spec.Destination.Namespace
	for _, row := range rows {
		obj, err := getObject(ctx, e, row["kind"], ns, row["name"])
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", row["kind"], ns, row["name"], err)
		}
		if !engine.WrittenByArgoCD(obj.GetManagedFields()) {
			return fmt.Errorf("%s %s/%s was not applied by Argo CD (field managers: %s)", row["kind"], ns, row["name"], engine.FieldManagers(obj.GetManagedFields()))
		}
	}
	return nil
}

func (w *World) appConditionWithin(ctx context.Context, seconds int, name, typ, text string) error {
	return w.awaitApp(ctx, name, fmt.Sprintf("a %s condition containing %q on %s", typ, text, name), time.Duration(seconds)*time.Second, false, func(app *engine.Application) await.Result {
		if c, ok := app.Condition(typ); ok && strings.Contains(c.Message, text) {
			return await.Passed("%s: %s", c.Type, c.Message)
		}
		return await.Waiting("%s", app.Summary())
	})
}

func (w *World) appDeployedNothing(ctx context.Context, name string) error {
	_, app, err := w.liveApp(ctx, name)
	if err != nil {
		return err
	}
	if app.Status.OperationState != nil || len(app.Status.History) > 0 {
		return fmt.Errorf("application %s ran a sync: %s", name, app.Summary())
	}
	for _, r := range app.Status.Resources {
		if r.Status == "Synced" {
			return fmt.Errorf("application %s reports %s as deployed", name, r.Ref())
		}
	}
	return nil
}

func (w *World) noObjectApplied(ctx context.Context, name string) error {
	present, total, err := w.objectsInCluster(ctx, name)
	if err != nil {
		return err
	}
	if len(present) > 0 {
		return fmt.Errorf("application %s: %d of %d objects exist in the cluster: %s", name, len(present), total, strings.Join(present, ", "))
	}
	return nil
}

func (w *World) onlyObjectsApplied(ctx context.Context, name string, table *godog.Table) error {
	rows, err := tableRows(table, "kind", "name")
	if err != nil {
		return err
	}
	present, total, err := w.objectsInCluster(ctx, name)
	if err != nil {
		return err
	}
	var want []string
	for _, r := range rows {
		want = append(want, r["kind"]+"/"+r["name"])
	}
	slices.Sort(want)
	if !slices.Equal(present, want) {
		return fmt.Errorf("application %s: of its %d objects the cluster has %v, want %v", name, total, present, want)
	}
	return nil
}

// objectsInCluster reads each object the application should manage from
// the cluster and returns the Kind/name of those that exist, sorted, and
// how many the application lists.
func (w *World) objectsInCluster(ctx context.Context, name string) (present []string, total int, err error) {
	e, app, err := w.liveApp(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	if len(app.Status.Resources) == 0 {
		return nil, 0, fmt.Errorf("application %s lists no objects to manage, so nothing can be checked: %s", name, app.Summary())
	}
	mapper := e.RESTMapper()
	for _, r := range app.Status.Resources {
		mapping, err := mapper.RESTMapping(schema.GroupKind{Group: r.Group, Kind: r.Kind}, r.Version)
		if err != nil {
			return nil, 0, fmt.Errorf("application %s: %s: %w", name, r.Ref(), err)
		}
		_, err = e.Dynamic().Resource(mapping.Resource).Namespace(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, 0, fmt.Errorf("application %s: reading %s: %w", name, r.Ref(), err)
		default:
			present = append(present, r.Kind+"/"+r.Name)
		}
	}
	slices.Sort(present)
	return present, len(app.Status.Resources), nil
}

func (w *World) cliShows(ctx context.Context, name, sync, health string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	out, err := e.CLI(ctx, "app", "get", name, "-o", "json")
	if err != nil {
		return err
	}
	var got struct {
		Status struct {
			Sync   struct{ Status string }
			Health struct{ Status string }
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		return fmt.Errorf("argocd app get %s -o json: %w: %s", name, err, out)
	}
	if got.Status.Sync.Status != sync || got.Status.Health.Status != health {
		return fmt.Errorf("argocd app get %s: sync=%s health=%s, want %s and %s", name, got.Status.Sync.Status, got.Status.Health.Status, sync, health)
	}
	return nil
}

// tableRows reads a table with a header row into maps, requiring columns.
func tableRows(t *godog.Table, columns ...string) ([]map[string]string, error) {
	if t == nil || len(t.Rows) < 2 {
		return nil, errors.New("the step needs a table with a header row and at least one row")
	}
	var header []string
	for _, c := range t.Rows[0].Cells {
		header = append(header, strings.TrimSpace(c.Value))
	}
	for _, want := range columns {
		found := false
		for _, h := range header {
			found = found || h == want
		}
		if !found {
			return nil, fmt.Errorf("table has columns %v, needs %v", header, columns)
		}
	}
	var out []map[string]string
	for _, r := range t.Rows[1:] {
		m := map[string]string{}
		for i, c := range r.Cells {
			if i < len(header) {
				m[header[i]] = strings.TrimSpace(c.Value)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// liveApp reads an Application through the run's engine.
func (w *World) liveApp(ctx context.Context, name string) (*engine.Engine, *engine.Application, error) {
	e, err := w.engine(ctx)
	if err != nil {
		return nil, nil, err
	}
	app, err := e.Application(ctx, name)
	return e, app, err
}

// awaitApp waits until pred passes on the live app (Eventually), or, with
// hold, requires it to pass for the whole duration (Consistently).
func (w *World) awaitApp(ctx context.Context, name, what string, d time.Duration, hold bool, pred func(*engine.Application) await.Result) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	wait := await.Eventually
	if hold {
		wait = await.Consistently
	}
	if _, err = wait(ctx, what, d, w.appCheck(e, name, pred)); err != nil && !hold {
		// Say why it is not there yet (the wait's context may be over).
		diagCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if why := e.Diagnose(diagCtx, name); why != "" {
			err = fmt.Errorf("%w\n%s", err, why)
		}
	}
	return err
}

func (w *World) appManagesExactly(ctx context.Context, name string, table *godog.Table) error {
	rows, err := tableRows(table, "kind", "name")
	if err != nil {
		return err
	}
	var want []string
	for _, r := range rows {
		want = append(want, r["kind"]+"/"+r["name"])
	}
	_, app, err := w.liveApp(ctx, name)
	if err != nil {
		return err
	}
	return engine.CheckManages(app, want)
}

func (w *World) appliedInOrder(ctx context.Context, name, objects string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	want := commaList(objects)
	return engine.AppliedInOrder(engine.SyncResults(e.LogLines("argocd-application-controller", w.started), name), want)
}
