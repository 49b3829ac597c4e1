// Package await is the single mechanism behind "eventually", "within 10s"
// and "stays true for 30s": a Check returns Pass, Pending or Fail with what
// it saw, and the waiters poll it under an explicit timeout. A Fail stops
// waiting at once; a timeout reports the last observation.
package await

import (
	"context"
	"fmt"
	"time"
)

// State is a check's verdict at one moment.
type State int

const (
	// Pending: not true yet, may become true.
	Pending State = iota
	// Pass: the condition holds now.
	Pass
	// Fail: the condition can no longer become true; stop waiting.
	Fail
)

func (s State) String() string {
	return [...]string{"pending", "pass", "fail"}[s]
}

// Result is one observation.
type Result struct {
	State State
	Saw   string // what was observed, for messages
}

// Passed, Waiting and Failed build Results.
func Passed(format string, a ...any) Result  { return Result{Pass, fmt.Sprintf(format, a...)} }
func Waiting(format string, a ...any) Result { return Result{Pending, fmt.Sprintf(format, a...)} }
func Failed(format string, a ...any) Result  { return Result{Fail, fmt.Sprintf(format, a...)} }

// Check observes the world once.
type Check func(ctx context.Context) Result

// Error says what was awaited, for how long and what was seen last.
type Error struct {
	What    string
	Timeout time.Duration
	Last    Result
	Failed  bool // a Fail ended the wait (vs. a timeout or a broken Consistently)
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Failed:
		return fmt.Sprintf("%s: failed: %s", e.What, e.Last.Saw)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v (last seen: %s)", e.What, e.Err, e.Last.Saw)
	default:
		return fmt.Sprintf("gave up after %s waiting for %s; last seen: %s", e.Timeout, e.What, e.Last.Saw)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// DefaultInterval is how often checks are polled.
const DefaultInterval = 100 * time.Millisecond

// Eventually polls check until it passes, fails, or timeout elapses.
func Eventually(ctx context.Context, what string, timeout time.Duration, check Check) (Result, error) {
	return poll(ctx, what, timeout, DefaultInterval, check, false)
}

// EventuallyEvery is Eventually polling at a chosen interval, for checks
// that are expensive (listing a thousand objects).
func EventuallyEvery(ctx context.Context, what string, timeout, every time.Duration, check Check) (Result, error) {
	return poll(ctx, what, timeout, every, check, false)
}

// Consistently requires check to pass at every poll for the whole duration.
// A Pending observation breaks it just like a Fail does.
func Consistently(ctx context.Context, what string, duration time.Duration, check Check) (Result, error) {
	return poll(ctx, what, duration, DefaultInterval, check, true)
}

func poll(ctx context.Context, what string, d, every time.Duration, check Check, holdFor bool) (Result, error) {
	deadline := time.Now().Add(d)
	var last Result
	for {
		// A check gets a few seconds beyond the deadline, so that the last
		// observation of a Consistently is not cut off mid-request and
		// misread as a failure.
		checkCtx, cancel := context.WithDeadline(ctx, deadline.Add(5*time.Second))
		last = check(checkCtx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return last, &Error{What: what, Timeout: d, Last: last, Err: ctx.Err()}
		case last.State == Fail:
			return last, &Error{What: what, Timeout: d, Last: last, Failed: true}
		case holdFor && last.State != Pass:
			return last, &Error{What: what, Timeout: d, Last: last, Err: fmt.Errorf("stopped holding")}
		case !holdFor && last.State == Pass:
			return last, nil
		}
		if !time.Now().Before(deadline) {
			if holdFor {
				return last, nil
			}
			return last, &Error{What: what, Timeout: d, Last: last}
		}
		wait := every
		if rest := time.Until(deadline); rest < wait {
			wait = rest
		}
		select {
		case <-ctx.Done():
			return last, &Error{What: what, Timeout: d, Last: last, Err: ctx.Err()}
		case <-time.After(wait):
		}
	}
}

// Settles waits up to within for count to reach want, then requires it to
// stay at want for hold: for what arrives once and must not repeat (a
// notification per revision). A count above want fails at once; each
// observation's description is what a failure says it saw last.
func Settles(ctx context.Context, what string, want int, within, hold time.Duration, count func() (int, string)) error {
	check := func(holding bool) Check {
		return func(context.Context) Result {
			n, saw := count()
			switch {
			case n == want:
				return Passed("%s", saw)
			case n > want || holding:
				return Failed("%s", saw)
			}
			return Waiting("%s", saw)
		}
	}
	if _, err := Eventually(ctx, fmt.Sprintf("%d %s", want, what), within, check(false)); err != nil {
		return err
	}
	_, err := Consistently(ctx, "no further "+what, hold, check(true))
	return err
}
