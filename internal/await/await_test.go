package await

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventuallyPassesOnceTheCheckPasses(t *testing.T) {
	var n atomic.Int32
	r, err := Eventually(context.Background(), "third call", 5*time.Second, func(context.Context) Result {
		if n.Add(1) < 3 {
			return Waiting("call %d", n.Load())
		}
		return Passed("call %d", n.Load())
	})
	require.NoError(t, err)
	assert.Equal(t, "call 3", r.Saw)
}

func TestEventuallyStopsAtFailWithoutWaiting(t *testing.T) {
	start := time.Now()
	_, err := Eventually(context.Background(), "sync", time.Minute, func(context.Context) Result { return Failed("operation Failed") })
	var ae *Error
	require.True(t, errors.As(err, &ae))
	assert.True(t, ae.Failed)
	assert.Contains(t, err.Error(), "operation Failed")
	assert.Less(t, time.Since(start), time.Second)
}

func TestEventuallyTimeoutSaysWhatItSaw(t *testing.T) {
	_, err := Eventually(context.Background(), "replicas=3", 300*time.Millisecond, func(context.Context) Result { return Waiting("replicas=5") })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gave up after 300ms waiting for replicas=3; last seen: replicas=5")
}

func TestConsistentlyBreaksOnFirstNonPass(t *testing.T) {
	var n atomic.Int32
	_, err := Consistently(context.Background(), "stays synced", 2*time.Second, func(context.Context) Result {
		if n.Add(1) == 3 {
			return Waiting("OutOfSync")
		}
		return Passed("Synced")
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OutOfSync")
}

func TestConsistentlyHoldsForTheDuration(t *testing.T) {
	start := time.Now()
	_, err := Consistently(context.Background(), "stays synced", 300*time.Millisecond, func(context.Context) Result { return Passed("Synced") })
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
}

func TestSettlesReachesThenHolds(t *testing.T) {
	ctx := context.Background()
	n := 0
	rising := func() (int, string) {
		if n < 2 {
			n++
		}
		return n, fmt.Sprintf("%d seen", n)
	}
	require.NoError(t, Settles(ctx, "mails", 2, time.Second, 300*time.Millisecond, rising))

	n = 0
	err := Settles(ctx, "mails", 1, time.Second, 300*time.Millisecond, rising)
	require.Error(t, err, "a second one arriving while holding fails")
	assert.Contains(t, err.Error(), "no further mails")
	assert.Contains(t, err.Error(), "2 seen")

	err = Settles(ctx, "mails", 3, 300*time.Millisecond, time.Second, func() (int, string) { return 1, "1 seen" })
	require.Error(t, err, "never reaching the count fails")
	assert.Contains(t, err.Error(), "3 mails")

	err = Settles(ctx, "mails", 1, time.Second, time.Second, func() (int, string) { return 4, "4 seen" })
	require.Error(t, err, "too many fails at once")
	assert.Contains(t, err.Error(), "4 seen")
}
