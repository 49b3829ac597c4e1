package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/reports/sequence"
)

func (w *World) faultSteps() []StepDef {
	return []StepDef{
		{Pattern: `^Argo CD's "([^"]*)" crashes and is restarted$`,
			Doc: "Fault injection: kills the Argo CD component with SIGKILL (no shutdown) and starts it again with the same flags, " +
				"waiting until it serves again (" + strings.Join(engine.Components, ", ") + ").",
			Example: `When Argo CD's "argocd-repo-server" crashes and is restarted`,
			Fn:      w.crashComponent},
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
