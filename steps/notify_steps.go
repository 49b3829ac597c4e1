package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/fixtures/mailsink"
	"github.com/rehearse/rehearse/internal/await"
)

func (w *World) notifySteps() []StepDef {
	return []StepDef{
		{Pattern: `^Argo CD sends e-mail notifications through the local mail server$`,
			Doc:     "Starts the scenario's SMTP server on 127.0.0.1 and configures it as the e-mail service of Argo CD's notifications controller. Subscriptions come from the Application's own notifications.argoproj.io annotations.",
			Example: `Given Argo CD sends e-mail notifications through the local mail server`,
			Fn:      w.emailNotifications},
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

func (w *World) matching(rcpt, subject string) (n int, subjects []string) {
	for _, m := range w.mail.To(rcpt) {
		subjects = append(subjects, m.Subject)
		if strings.Contains(m.Subject, subject) {
			n++
		}
	}
	return n, subjects
}

func (w *World) receivedExactly(ctx context.Context, rcpt string, count int, subject string, polls int) error {
	if w.mail == nil {
		return fmt.Errorf("no mail server: add \"Argo CD sends e-mail notifications through the local mail server\"")
	}
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	check := func(hold bool) await.Check {
		return func(context.Context) await.Result {
			n, subjects := w.matching(rcpt, subject)
			saw := fmt.Sprintf("%d matching of %d e-mails to %s: %q", n, len(subjects), rcpt, subjects)
			switch {
			case n == count:
				return await.Passed("%s", saw)
			case n > count:
				return await.Failed("%s", saw)
			case hold:
				return await.Failed("%s", saw)
			}
			return await.Waiting("%s", saw)
		}
	}
	if _, err := await.Eventually(ctx, fmt.Sprintf("%d e-mails to %s about %q", count, rcpt, subject), 30*time.Second, check(false)); err != nil {
		return err
	}
	_, err = await.Consistently(ctx, fmt.Sprintf("no further e-mail to %s about %q", rcpt, subject), time.Duration(polls)*e.PollInterval(), check(true))
	return err
}
