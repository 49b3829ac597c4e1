package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rehearse/rehearse/clusters"
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
		{Pattern: `^the mail server is down$`,
			Doc:     "Fault injection: the scenario's SMTP server answers every new connection \"421 service not available\" until it is back.",
			Example: `Given the mail server is down`,
			Fn:      w.mailDown},
		{Pattern: `^the mail server comes back$`,
			Doc:     "Ends a mail server outage once Argo CD has tried to send during it (waits up to 30s for a refused connection).",
			Example: `When the mail server comes back`,
			Fn:      w.mailBack},
		{Pattern: `^the cluster's API server crashes and is back after (\d+(?:\.\d+)?)s$`,
			Doc: "Fault injection: kills the cluster's kube-apiserver (SIGKILL), keeps it down that long, starts it again with the same flags " +
				"and waits until it is ready (default backend only).",
			Example: `When the cluster's API server crashes and is back after 2s`,
			Fn:      w.crashAPIServer},
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

func (w *World) mailDown(ctx context.Context) error {
	if err := w.requireMail(); err != nil {
		return err
	}
	w.mail.SetDown(true)
	w.mailDownAt = time.Now()
	w.observe(sequence.ArgoCD, sequence.ArgoCD, "fault: the mail server refuses connections")
	return nil
}

func (w *World) mailBack(ctx context.Context) error {
	if err := w.requireMail(); err != nil {
		return err
	}
	// The outage only means something once Argo CD has run into it.
	_, err := await.Eventually(ctx, "Argo CD to try the mail server while it is down", 30*time.Second, func(context.Context) await.Result {
		if n := len(w.mail.Refused()); n > 0 {
			return await.Passed("%d connections refused", n)
		}
		return await.Waiting("no connection attempt yet")
	})
	w.mail.SetDown(false)
	refused := w.mail.Refused()
	w.note("mail server down for %s; %d connections refused meanwhile", time.Since(w.mailDownAt).Round(time.Millisecond), len(refused))
	return err
}

func (w *World) crashAPIServer(ctx context.Context, seconds float64) error {
	if _, err := w.engine(ctx); err != nil {
		return err
	}
	c, ok := w.env.Cluster().(clusters.APIServerCrasher)
	if !ok {
		return fmt.Errorf("the %s backend does not let Rehearse crash its API server", orDefault(w.env.Options().Backend, "kwok"))
	}
	start := time.Now()
	w.observe(sequence.Kubernetes, sequence.Kubernetes, "fault: kube-apiserver killed (SIGKILL)")
	if err := c.CrashAPIServer(ctx, time.Duration(seconds*float64(time.Second))); err != nil {
		return err
	}
	w.note("kube-apiserver crashed and was serving again %s later", time.Since(start).Round(time.Millisecond))
	return nil
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
