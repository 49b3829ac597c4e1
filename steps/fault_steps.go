package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/reports/sequence"
)

func (w *World) faultSteps() []StepDef {
	return []StepDef{
		{Pattern: `^Argo CD's "([^"]*)" crashes and is restarted$`,
			Doc: "Fault injection: kills the Argo CD component with SIGKILL (no shutdown) and starts it again with the same flags, " +
				"waiting until it serves again (" + strings.Join(engine.Components, ", ") + ").",
			Example: `When Argo CD's "argocd-repo-server" crashes and is restarted`,
			Fn:      w.crashComponent},
		{Pattern: `^the Git server goes down$`,
			Doc:     "Fault injection: the scenario's Git server stops listening (connections refused); its repositories are kept.",
			Example: `When the Git server goes down`,
			Fn:      w.gitDown},
		{Pattern: `^the Git server comes back$`,
			Doc:     "Ends a \"goes down\" fault: the Git server listens again on the same address with the same repositories.",
			Example: `When the Git server comes back`,
			Fn:      w.gitBack},
		{Pattern: `^the Git server answers every request (\d+(?:\.\d+)?)s late$`,
			Doc:     "Fault injection: a slow Git server (0 ends it).",
			Example: `Given the Git server answers every request 2s late`,
			Fn:      w.gitSlow},
		{Pattern: `^within (\d+)s the application "([^"]*)" has no "([^"]*)" condition$`,
			Doc:     "Waits until the Application carries no condition of that type (e.g. a ComparisonError cleared).",
			Example: `Then within 20s the application "q-sign" has no "ComparisonError" condition`,
			Fn:      w.noCondition},
		{Pattern: `^the registry answers (\d+) to the next (\d+) upload requests?$`,
			Doc:     "Fault injection: the registry fails that many blob or manifest uploads with the HTTP status (every push is several uploads).",
			Example: `Given the registry answers 503 to the next 2 upload requests`,
			Fn:      w.registryFails},
	}
}

func (w *World) crashComponent(ctx context.Context, component string) error {
	if !slices.Contains(engine.Components, component) {
		return fmt.Errorf("%q is not an Argo CD component (known: %s)", component, strings.Join(engine.Components, ", "))
	}
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	w.observe(sequence.ArgoCD, sequence.ArgoCD, "fault: "+component+" killed (SIGKILL) and restarted")
	return e.RestartComponent(ctx, component)
}

func (w *World) registryFails(ctx context.Context, status, n int) error {
	reg, err := w.registry()
	if err != nil {
		return err
	}
	if status < 400 || status > 599 {
		return fmt.Errorf("status %d is not an HTTP error", status)
	}
	reg.FailNextPushes(n, status)
	return nil
}

func (w *World) gitDown(ctx context.Context) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	w.observe(sequence.GitLab, sequence.GitLab, "fault: Git server down")
	return s.Pause()
}

func (w *World) gitBack(ctx context.Context) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	w.observe(sequence.GitLab, sequence.GitLab, "fault over: Git server back")
	return s.Resume()
}

func (w *World) gitSlow(ctx context.Context, seconds float64) error {
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	s.SetDelay(time.Duration(seconds * float64(time.Second)))
	return nil
}

func (w *World) noCondition(ctx context.Context, seconds int, name, typ string) error {
	return w.awaitApp(ctx, name, fmt.Sprintf("no %s condition on %s", typ, name), time.Duration(seconds)*time.Second, false,
		func(app *engine.Application) await.Result {
			for _, c := range app.Status.Conditions {
				if c.Type == typ {
					return await.Waiting("%s: %s", c.Type, c.Message)
				}
			}
			return await.Passed("no %s condition", typ)
		})
}
