package engine

import (
	"fmt"
	"time"
)

// PollDetection judges whether an application moved to a pushed commit by
// Argo CD's periodic poll and not by something sooner (a webhook, a manual
// refresh).
type PollDetection struct {
	// Push is when the commit landed; ReconciledAt the app's
	// status.reconciledAt read after it; Poll the controller's (compressed)
	// poll interval.
	Push, ReconciledAt time.Time
	Poll               time.Duration
}

// Earliest is when the next poll was due: a poll after the app's last
// reconciliation, or the push itself when a poll was already due then
// (timing alone cannot tell that poll from a webhook: check deliveries).
func (d PollDetection) Earliest() time.Time {
	earliest := d.ReconciledAt.Add(d.Poll)
	if earliest.Before(d.Push) {
		return d.Push
	}
	return earliest
}

// Timeout bounds the wait for the move: two polls (the revision cache
// expires with the poll) and 5 s of processing.
func (d PollDetection) Timeout() time.Duration { return 2*d.Poll + 5*time.Second }

// Check refuses a move seen before the next poll was due. reconciledAt has
// whole-second precision, so the real reconciliation happened within the
// second after it; 100 ms of slack cover the watch's delivery.
func (d PollDetection) Check(detected time.Time) error {
	earliest := d.Earliest()
	if detected.Before(earliest.Add(-100 * time.Millisecond)) {
		return fmt.Errorf("moved to the pushed commit %s after the push, before its next poll was due (%s); something other than polling refreshed it",
			detected.Sub(d.Push).Round(10*time.Millisecond), earliest.Sub(d.Push).Round(10*time.Millisecond))
	}
	return nil
}
