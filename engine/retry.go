package engine

import (
	"fmt"
	"regexp"
	"time"
)

var (
	retrying       = regexp.MustCompile(`^Retrying operation(?: with latest revisions)?\. Attempt #(\d+)`)
	retryScheduled = regexp.MustCompile(`^Skipping retrying in-progress operation\. Attempting again at: (\S+)`)
)

// RetryAttempt is one failed attempt of a sync and Argo CD's retry of it,
// from the application controller's log.
type RetryAttempt struct {
	// Refused is when the attempt's object was refused; Recorded a moment
	// by which the controller had stored the failure (and so the attempt's
	// finishedAt): when it first put the retry off, else when it retried.
	// The finish lies between the two.
	Refused, Recorded time.Time
	// Scheduled is the retry time Argo CD computed and logged, in whole
	// seconds ("Attempting again at: ..."); zero when the retry was due
	// before the controller looked again, so it logged none.
	Scheduled time.Time
	// Retried is when the next attempt began ("Retrying operation. Attempt #N").
	Retried time.Time
}

// RetryAttempts reads each retried attempt of app's sync from the
// controller's log, in order.
func RetryAttempts(lines []LogLine, app string) []RetryAttempt {
	var out []RetryAttempt
	var refused, recorded, scheduled time.Time
	for _, l := range lines {
		if l.Application() != app {
			continue
		}
		switch status, _, isResult := l.ResourceResult(); {
		case isResult && status == "SyncFailed":
			refused, recorded = l.Time, time.Time{}
		case !refused.IsZero() && retryScheduled.MatchString(l.Message):
			if recorded.IsZero() {
				recorded = l.Time
			}
			if t, err := time.Parse(time.RFC3339, retryScheduled.FindStringSubmatch(l.Message)[1]); err == nil {
				scheduled = t
			}
		case retrying.MatchString(l.Message) && !refused.IsZero():
			if recorded.IsZero() {
				recorded = l.Time
			}
			out = append(out, RetryAttempt{Refused: refused, Recorded: recorded, Scheduled: scheduled, Retried: l.Time})
			refused, recorded, scheduled = time.Time{}, time.Time{}, time.Time{}
		}
	}
	return out
}

// retryLatency is how late a retry may start after it is due: the
// controller requeues a refresh of the app for that moment, compares it
// (rendering the manifests) and only then takes up the operation again;
// 1.3 s was seen on 2 cores busy with two lanes. Too loose to tell 3 s from
// 5.3 s, so the wait Argo CD scheduled is checked too where it logged it.
const retryLatency = 3 * time.Second

// CheckRetryWaits compares each retry with the wait Argo CD's backoff gives
// it (want, in order). Argo CD counts the wait from the attempt's
// finishedAt as stored, in whole seconds, so attempt n is due from
// finishedAt's second + want[n] (at once if that is already past); a retry
// must not start earlier, nor later than the failure + want[n] +
// retryLatency, and where Argo CD logged the time it scheduled, that is the
// failure's second plus want[n] in whole seconds. A backoff that did not
// grow starts retries too early; one that ignored its cap (5.3 s instead of
// 3 s at 60x) is scheduled 5 s on, not 3.
func CheckRetryWaits(attempts []RetryAttempt, want []time.Duration) error {
	if len(attempts) != len(want) {
		return fmt.Errorf("%d retries in the controller's log, want %d", len(attempts), len(want))
	}
	for i, a := range attempts {
		// Due from the failure's whole second at the earliest (a wait
		// shorter than the second's fraction is already over: at once),
		// and from the failure itself at the latest, plus the refresh.
		earliest := laterOf(a.Refused, a.Refused.Truncate(time.Second).Add(want[i]))
		latest := a.Recorded.Add(want[i]).Add(retryLatency)
		// Timestamps of one machine's clock, logged a few microseconds
		// apart: allow the rounding of the app's rewritten durations.
		if a.Retried.Before(earliest.Add(-20*time.Millisecond)) || a.Retried.After(latest) {
			return fmt.Errorf("retry #%d started %s after its attempt failed; with a wait of %s from the failure's whole second it was due between %s and %s after",
				i+1, a.Retried.Sub(a.Refused).Round(time.Millisecond), want[i], earliest.Sub(a.Refused).Round(time.Millisecond), latest.Sub(a.Refused).Round(time.Millisecond))
		}
		// Argo CD logs the time it scheduled in whole seconds: the finish
		// (as stored, or as the controller still held it) plus the wait.
		if !a.Scheduled.IsZero() {
			lo := a.Refused.Truncate(time.Second).Add(want[i]).Truncate(time.Second)
			hi := a.Recorded.Add(want[i]).Truncate(time.Second)
			if a.Scheduled.Before(lo) || a.Scheduled.After(hi) {
				return fmt.Errorf("retry #%d was scheduled for %s, %s after the failure; with a wait of %s it was due between %s and %s",
					i+1, a.Scheduled.Format(time.RFC3339), a.Scheduled.Sub(a.Refused).Round(time.Millisecond), want[i], lo.Format(time.RFC3339), hi.Format(time.RFC3339))
			}
		}
	}
	return nil
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
