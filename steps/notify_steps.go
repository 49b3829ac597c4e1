package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/fixtures/hooksink"
	"github.com/rehearse/rehearse/fixtures/mailsink"
	"github.com/rehearse/rehearse/internal/await"
)

func (w *World) notifySteps() []StepDef {
	return []StepDef{
		{Pattern: `^Argo CD sends e-mail notifications through the local mail server$`,
			Doc:     "Starts the scenario's SMTP server on 127.0.0.1 and configures it as the e-mail service of Argo CD's notifications controller. Subscriptions come from the Application's own notifications.argoproj.io annotations.",
			Example: `Given Argo CD sends e-mail notifications through the local mail server`,
			Fn:      w.emailNotifications},
		{Pattern: `^Argo CD posts notifications to the local webhook "([^"]*)"$`,
			Doc:     "Starts the scenario's webhook receiver on 127.0.0.1 and configures it as notifications webhook service NAME, with a JSON body (app, revision, trigger, sync, health) on each standard template.",
			Example: `Given Argo CD posts notifications to the local webhook "team-hook"`,
			Fn:      w.webhookNotifications},
		{Pattern: `^the webhook "([^"]*)" has received exactly (\d+) "([^"]*)" notifications?, still after (\d+) polls?$`,
			Doc:     "Waits (up to 30s) until the receiver got this many posts for the trigger, then asserts no further one for this many polls.",
			Example: `Then the webhook "team-hook" has received exactly 2 "on-deployed" notifications, still after 1 poll`,
			Fn:      w.webhookReceivedExactly},
		{Pattern: `^Argo CD's notifications controller logged a failed delivery to "([^"]*)"$`,
			Doc:     "The notifications controller's log has a \"Failed to notify recipient\" line for that recipient since the scenario began.",
			Example: `Then Argo CD's notifications controller logged a failed delivery to "developer@q-sign.local"`,
			Fn:      w.failedDelivery},
		{Pattern: `^within (\d+)s "([^"]*)" has received (at least )?(\d+) e-mails? whose subject contains "([^"]*)"$`,
			Doc:     "Waits until this many matching e-mails arrived for the recipient; one more than that fails at once. With \"at least\", more are fine (a delivery the notifications controller may or may not retry).",
			Example: `Then within 75s "developer@q-sign.local" has received 2 e-mails whose subject contains "is up and running"`,
			Fn:      w.receivedWithin},
		{Pattern: `^"([^"]*)" has received exactly (\d+) e-mails? whose subject contains "([^"]*)", still after (\d+) polls?$`,
			Doc:     "Waits (up to 30s) until this many matching e-mails arrived for the recipient, then asserts no further one arrives for this many polls (triggers fire once per revision).",
			Example: `Then "developer@q-sign.local" has received exactly 2 e-mails whose subject contains "is up and running", still after 2 polls`,
			Fn:      w.receivedExactly},
	}
}

func (w *World) emailNotifications(ctx context.Context) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	if w.mail == nil {
		if w.mail, err = mailsink.Start(); err != nil {
			return err
		}
	}
	return e.ConfigureEmail(ctx, engine.EmailService{Host: "127.0.0.1", Port: w.mail.Port(), From: "argocd@q-sign.local"})
}

// requireMail fails, saying which step is missing, when the scenario has
// no mail server.
func (w *World) requireMail() error {
	if w.mail == nil {
		return fmt.Errorf("no mail server: add \"Argo CD sends e-mail notifications through the local mail server\"")
	}
	return nil
}

func (w *World) matching(rcpt, subject string) (n int, subjects []string) {
	for _, m := range w.mail.To(rcpt) {
		subjects = append(subjects, m.Subject)
		if strings.Contains(m.Subject, subject) {
			n++
		}
	}
	return n, subjects
}

func (w *World) failedDelivery(ctx context.Context, rcpt string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	for _, l := range e.LogLines("argocd-notifications", w.started) {
		if strings.Contains(l.Message, "Failed to notify recipient") && strings.Contains(l.Message, rcpt) {
			w.note("notifications controller: %s", l.Message)
			return nil
		}
	}
	return fmt.Errorf("the notifications controller logged no failed delivery to %s since the scenario began", rcpt)
}

func (w *World) receivedWithin(ctx context.Context, seconds int, rcpt, atLeast string, count int, subject string) error {
	if err := w.requireMail(); err != nil {
		return err
	}
	start := time.Now()
	_, err := await.Eventually(ctx, fmt.Sprintf("%s%d e-mails to %s about %q", atLeast, count, rcpt, subject), time.Duration(seconds)*time.Second,
		func(context.Context) await.Result {
			n, subjects := w.matching(rcpt, subject)
			return countReached(n, count, atLeast != "", fmt.Sprintf("of %d e-mails to %s: %q", len(subjects), rcpt, subjects))
		})
	if err == nil {
		w.note("%d e-mails to %s about %q after %s", count, rcpt, subject, time.Since(start).Round(time.Millisecond))
		return nil
	}
	// What the notifications controller did explains a missing e-mail.
	var lines []string
	if e := w.env.Engine(); e != nil {
		for _, l := range e.LogLines("argocd-notifications", w.started) {
			if (strings.Contains(l.Message, "otif") || strings.Contains(l.Message, "skipped")) && !strings.Contains(l.Message, "already sent") {
				lines = append(lines, l.Time.Format("15:04:05.000")+" "+l.Level+" "+l.Message)
			}
		}
	}
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return fmt.Errorf("%w\nthe notifications controller since the scenario began:\n  %s", err, strings.Join(lines, "\n  "))
}

// countReached judges a count that should reach want: passed when it
// has (or, with atLeast, gone beyond), failed at once when an exact count
// was overshot (what arrived cannot leave again), else waiting.
func countReached(n, want int, atLeast bool, context string) await.Result {
	switch {
	case n == want || (atLeast && n > want):
		return await.Passed("%d matching %s", n, context)
	case n > want:
		return await.Failed("%d matching, more than %d, %s", n, want, context)
	}
	return await.Waiting("%d matching %s", n, context)
}

func (w *World) receivedExactly(ctx context.Context, rcpt string, count int, subject string, polls int) error {
	if err := w.requireMail(); err != nil {
		return err
	}
	return w.exactlyThenNoMore(ctx, fmt.Sprintf("e-mail to %s about %q", rcpt, subject), count, polls, func() (int, string) {
		n, subjects := w.matching(rcpt, subject)
		return n, fmt.Sprintf("%d matching of %d e-mails to %s: %q", n, len(subjects), rcpt, subjects)
	})
}

// exactlyThenNoMore waits (up to 30s) until observe counts count
// notifications, then requires the count to stay there for polls polls:
// triggers fire once per revision. Failures carry the notifications
// controller's log.
func (w *World) exactlyThenNoMore(ctx context.Context, what string, count, polls int, observe func() (int, string)) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	err = await.Settles(ctx, what, count, 30*time.Second, time.Duration(polls)*e.PollInterval(), observe)
	if err != nil {
		return fmt.Errorf("%w\nargocd-notifications log:\n%s", err, e.Logs("argocd-notifications", 30))
	}
	return nil
}

func (w *World) webhookNotifications(ctx context.Context, name string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	if w.hooks == nil {
		if w.hooks, err = hooksink.Start(); err != nil {
			return err
		}
	}
	return e.ConfigureWebhook(ctx, name, w.hooks.URL()+"/"+name)
}

func (w *World) webhookReceivedExactly(ctx context.Context, name string, count int, trigger string, polls int) error {
	if w.hooks == nil {
		return fmt.Errorf("no webhook receiver: add \"Argo CD posts notifications to the local webhook\"")
	}
	return w.exactlyThenNoMore(ctx, fmt.Sprintf("%s notification to %s", trigger, name), count, polls, func() (int, string) {
		n, total := 0, 0
		for _, r := range w.hooks.Requests() {
			if r.Path != "/"+name {
				continue
			}
			total++
			var body struct{ Trigger string }
			if json.Unmarshal([]byte(r.Body), &body) == nil && body.Trigger == trigger {
				n++
			}
		}
		return n, fmt.Sprintf("%d %s posts of %d to %s", n, trigger, total, name)
	})
}
