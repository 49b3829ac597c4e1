package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse/rehearse/clusters/podwatch"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/internal/timescale"
)

func (w *World) retrySteps() []StepDef {
	return []StepDef{
		{Pattern: `^within (\d+)s the last sync of "([^"]*)" has failed after (\d+) retries(?: with a message containing "([^"]*)")?$`,
			Doc:     "Waits until the operation is Failed (or Error) with this retryCount: the retry policy ran out. The text, if given, must be in the operation's message or in one object's result (kind/name: message), where Argo CD puts the API server's refusal.",
			Example: `Then within 30s the last sync of "q-sign" has failed after 5 retries`,
			Fn:      w.failedAfterRetries},
		{Pattern: `^the failed sync of "([^"]*)" lasted at least "([^"]*)" of seed time$`,
			Doc:     "Asserts the failed operation ran (startedAt to finishedAt) at least this seed duration, compressed by the run's time scale: the retry backoff really waited. Timestamps have whole seconds, so one second of slack is allowed.",
			Example: `And the failed sync of "q-sign" lasted at least "155s" of seed time`,
			Fn:      w.failedSyncLasted},
		{Pattern: `^Argo CD waited ((?:\d+[a-z]+)(?:, \d+[a-z]+)* and \d+[a-z]+) of seed time between the attempts of the sync of "([^"]*)"$`,
			Doc: "From the controller's log: each failed attempt of the app's last sync was retried after this wait (seed time, " +
				"compressed), one per retry in order. Argo CD counts a wait from the failure's whole second and refreshes the app " +
				"before it retries, so a retry must come no earlier than that second plus the wait and no later than 3 s after " +
				"the failure plus the wait; where Argo CD logged the time it scheduled, that must be the failure's second plus the " +
				"wait's whole seconds. A backoff that does not grow retries too early; one that ignores its cap is scheduled too late.",
			Example: `And Argo CD waited 5s, 10s, 20s, 40s and 80s of seed time between the attempts of the sync of "q-sign"`,
			Fn:      w.retryWaits},
		{Pattern: `^Argo CD does not retry the sync of "([^"]*)" at the same revision for (\d+) polls?$`,
			Doc:     "Asserts no new operation starts for this many polls after a failed sync at an unchanged revision (Argo CD's \"already attempted\" rule), and that its SyncError condition says so.",
			Example: `And Argo CD does not retry the sync of "q-sign" at the same revision for 2 polls`,
			Fn:      w.notRetried},
		{Pattern: `^within (\d+)s the (Service|ConfigMap|Deployment) "([^"]*)" in "([^"]*)" is deleted$`,
			Doc:     "Waits until the object is gone (pruned).",
			Example: `Then within 15s the Service "keycloak" in "q-sign" is deleted`,
			Fn:      w.objectDeleted},
		{Pattern: `^the deployment "([^"]*)" in "([^"]*)" was deleted in the foreground, after its pods$`,
			Doc: "From the namespace's recording: the Deployment was seen deleting with the garbage collector's foregroundDeletion " +
				"finalizer (PrunePropagationPolicy=foreground), and each of its pods was gone before it was.",
			Example: `And the deployment "worker" in "prune-demo" was deleted in the foreground, after its pods`,
			Fn:      w.deletedInForeground},
		{Pattern: `^within (\d+)s the sync of the push to "([^"]*)" has pruned "([^"]*)" after applying everything else$`,
			Doc: "Waits until the app's operation at the pushed commit has ended, then reads the controller's log of it: the objects " +
				"pruned (kind/name, comma-separated) are exactly these, each after every object the sync applied (PruneLast=true).",
			Example: `And within 30s the sync of the push to "prune-demo" has pruned "Deployment/worker, ConfigMap/worker-config" after applying everything else`,
			Fn:      w.prunedLast},
		{Pattern: `^the (Service|ConfigMap|Deployment) "([^"]*)" in "([^"]*)" still exists after (\d+) polls?$`,
			Doc:     "Asserts the object is present for this many (compressed) poll intervals (not pruned).",
			Example: `Then the Service "keycloak" in "q-sign" still exists after 2 polls`,
			Fn:      w.objectStays},
	}
}

func (w *World) deletedInForeground(ctx context.Context, name, ns string) error {
	rec := w.podRecorders[recorderKey("", ns)]
	if rec == nil {
		return fmt.Errorf("namespace %s was not recorded: apply an Application deploying to it first", ns)
	}
	d, ok := rec.Deployment(name)
	if !ok {
		return fmt.Errorf("no deployment %s was seen in %s", name, ns)
	}
	return podwatch.ForegroundDeletion(d, rec.Pods())
}

func (w *World) prunedLast(ctx context.Context, seconds int, name, objects string) error {
	if err := w.requirePush(); err != nil {
		return err
	}
	err := w.awaitApp(ctx, name, fmt.Sprintf("the sync of %s at %s to end", name, short(w.lastPush.sha)), time.Duration(seconds)*time.Second, false,
		func(a *engine.Application) await.Result {
			op := a.Status.OperationState
			if op != nil && op.Phase != "Running" && op.SyncResult != nil && op.SyncResult.Revision == w.lastPush.sha {
				return await.Passed("%s", a.Summary())
			}
			return await.Waiting("%s", a.Summary())
		})
	if err != nil {
		return err
	}
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	want := commaList(objects)
	return engine.PrunedLast(engine.SyncResults(e.LogLines("argocd-application-controller", w.lastPush.at), name), want)
}

func (w *World) retryWaits(ctx context.Context, list, name string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	var want []time.Duration
	for _, word := range strings.FieldsFunc(strings.ReplaceAll(list, " and ", ","), func(r rune) bool { return r == ',' }) {
		d, err := timescale.ParseSeed(strings.TrimSpace(word))
		if err != nil {
			return fmt.Errorf("wait %q: %w", word, err)
		}
		want = append(want, e.Scale().Convert("step: Argo CD waited between attempts", d))
	}
	return engine.CheckRetryWaits(engine.RetryAttempts(e.LogLines("argocd-application-controller", w.started), name), want)
}

func (w *World) failedAfterRetries(ctx context.Context, seconds int, name string, retries int, text string) error {
	return w.awaitApp(ctx, name, fmt.Sprintf("the sync of %s to fail after %d retries", name, retries), time.Duration(seconds)*time.Second, false, func(a *engine.Application) await.Result {
		op := a.Status.OperationState
		if op == nil {
			return await.Waiting("no operation yet")
		}
		if w.lastPush.sha != "" && op.Operation.Sync.Revision != w.lastPush.sha {
			return await.Waiting("the last operation (%s) is for revision %s, not the pushed %s", op.Phase, short(op.Operation.Sync.Revision), short(w.lastPush.sha))
		}
		if (op.Phase == "Failed" || op.Phase == "Error") && op.RetryCount == int64(retries) {
			messages := operationMessages(op)
			if text != "" && !strings.Contains(strings.Join(messages, "\n"), text) {
				return await.Failed("%s after %d retries, but no message contains %q: %s", op.Phase, op.RetryCount, text, strings.Join(messages, "; "))
			}
			return await.Passed("%s after %d retries: %s", op.Phase, op.RetryCount, strings.Join(messages, "; "))
		}
		if op.Phase == "Succeeded" || op.RetryCount > int64(retries) {
			return await.Failed("phase %s after %d retries: %s", op.Phase, op.RetryCount, firstLine(op.Message))
		}
		return await.Waiting("phase %s, %d retries so far", op.Phase, op.RetryCount)
	})
}

// operationMessages are the operation's message and, for each object the
// sync could not apply, "Kind/name: message".
func operationMessages(op *engine.OperationState) []string {
	out := []string{firstLine(op.Message)}
	if op.SyncResult == nil {
		return out
	}
	for _, r := range op.SyncResult.Resources {
		if r.Message != "" && r.Status != "Synced" {
			out = append(out, fmt.Sprintf("%s/%s: %s", r.Kind, r.Name, r.Message))
		}
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (w *World) failedSyncLasted(ctx context.Context, name, seed string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	d, err := timescale.ParseSeed(seed)
	if err != nil {
		return err
	}
	want := e.Scale().Convert("step: failed sync lasted at least", d)
	app, err := e.Application(ctx, name)
	if err != nil {
		return err
	}
	op := app.Status.OperationState
	if op == nil || op.StartedAt == nil || op.FinishedAt == nil {
		return fmt.Errorf("application %s has no finished operation: %s", name, app.Summary())
	}
	took := op.FinishedAt.Sub(*op.StartedAt)
	if took+time.Second < want {
		return fmt.Errorf("the failed sync of %s took %s (%d retries), want at least %s (%s of seed time at %vx)", name, took, op.RetryCount, want, seed, e.Scale().Factor())
	}
	return nil
}

func (w *World) notRetried(ctx context.Context, name string, polls int) error {
	e, app, err := w.liveApp(ctx, name)
	if err != nil {
		return err
	}
	op := app.Status.OperationState
	if op == nil || op.StartedAt == nil {
		return fmt.Errorf("application %s has no operation to compare with: %s", name, app.Summary())
	}
	started := *op.StartedAt
	d := time.Duration(polls) * e.PollInterval()
	_, err = await.Consistently(ctx, fmt.Sprintf("no new sync of %s for %s", name, d), d,
		w.appCheck(e, name, func(a *engine.Application) await.Result {
			o := a.Status.OperationState
			if o == nil || o.StartedAt == nil || !o.StartedAt.Equal(started) {
				return await.Failed("a new operation started: %s", a.Summary())
			}
			return await.Passed("%s", a.Summary())
		}))
	if err != nil {
		return err
	}
	app, err = e.Application(ctx, name)
	if err != nil {
		return err
	}
	if c, ok := app.Condition("SyncError"); !ok || !strings.Contains(c.Message, "Failed last sync attempt") {
		return fmt.Errorf("application %s has no SyncError \"Failed last sync attempt\": %s", name, app.Summary())
	}
	return nil
}

// getObject reads one object of the kinds these steps name.
func getObject(ctx context.Context, e *engine.Engine, kind, ns, name string) (metav1.Object, error) {
	switch kind {
	case "Service":
		return e.Kube().CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	case "ConfigMap":
		return e.Kube().CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	case "Deployment":
		return e.Kube().AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	}
	return nil, fmt.Errorf("unsupported kind %s", kind)
}

func (w *World) objectDeleted(ctx context.Context, seconds int, kind, name, ns string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("%s %s/%s to be deleted", kind, ns, name), time.Duration(seconds)*time.Second,
		func(ctx context.Context) await.Result {
			obj, err := getObject(ctx, e, kind, ns, name)
			if apierrors.IsNotFound(err) {
				return await.Passed("deleted")
			}
			if err != nil {
				return await.Waiting("%v", err)
			}
			return await.Waiting("present (created %s)", obj.GetCreationTimestamp())
		})
	return err
}

func (w *World) objectStays(ctx context.Context, kind, name, ns string, polls int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	d := time.Duration(polls) * e.PollInterval()
	_, err = await.Consistently(ctx, fmt.Sprintf("%s %s/%s to stay for %s", kind, ns, name, d), d,
		func(ctx context.Context) await.Result {
			obj, err := getObject(ctx, e, kind, ns, name)
			if err != nil {
				return await.Failed("%v", err)
			}
			if obj.GetDeletionTimestamp() != nil {
				return await.Failed("being deleted")
			}
			return await.Passed("present")
		})
	return err
}
