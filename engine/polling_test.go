package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPollDetectionRefusesAMoveBeforeTheNextPoll(t *testing.T) {
	t0 := time.Unix(1000, 0)
	d := PollDetection{Push: t0.Add(2 * time.Second), ReconciledAt: t0, Poll: 5 * time.Second}
	assert.Equal(t, t0.Add(5*time.Second), d.Earliest())
	assert.Equal(t, 15*time.Second, d.Timeout())
	assert.NoError(t, d.Check(t0.Add(5200*time.Millisecond)))
	assert.NoError(t, d.Check(t0.Add(4950*time.Millisecond)), "within the slack of the watch")
	assert.ErrorContains(t, d.Check(t0.Add(2500*time.Millisecond)), "before its next poll was due (3s)", "a webhook's speed")

	due := PollDetection{Push: t0.Add(7 * time.Second), ReconciledAt: t0, Poll: 5 * time.Second}
	assert.Equal(t, due.Push, due.Earliest(), "a poll was already due at the push")
	assert.NoError(t, due.Check(t0.Add(7300*time.Millisecond)))
}
