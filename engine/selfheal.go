package engine

import (
	"fmt"
	"time"
)

// SelfHealBackoff is the application controller's self-heal backoff
// (--self-heal-backoff-timeout-seconds, -factor and -cap-seconds): how
// long it waits before reverting a drift that follows a revert.
type SelfHealBackoff struct {
	Base   time.Duration
	Factor int
	Max    time.Duration
}

// Wait is the delay before the n-th heal of drifts back to back (n from
// 1): none for the first, then Base * Factor^(n-2), at most Max.
func (b SelfHealBackoff) Wait(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := b.Base
	for k := 2; k < n; k++ {
		d *= time.Duration(b.Factor)
		if d >= b.Max {
			return b.Max
		}
	}
	return min(d, b.Max)
}

// Allowed slack of CheckRevert: operation timestamps have whole seconds,
// so the controller may revert up to a second before the nominal delay;
// after it, the watch event, the comparison and the sync itself take a
// few seconds on a loaded machine.
const (
	healEarly = time.Second
	healLate  = 5 * time.Second
)

// CheckRevert judges the n-th heal, seen took after its drift: it must
// have waited Wait(n) (a second less at most), and not much longer.
func (b SelfHealBackoff) CheckRevert(n int, took time.Duration) error {
	want := b.Wait(n)
	if took < want-healEarly {
		return fmt.Errorf("drift %d was reverted after %s, before the self-heal backoff of %s", n, took.Round(10*time.Millisecond), want)
	}
	if took > want+healLate {
		return fmt.Errorf("drift %d was reverted only after %s, backoff %s", n, took.Round(10*time.Millisecond), want)
	}
	return nil
}
