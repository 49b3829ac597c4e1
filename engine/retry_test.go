package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckRetryWaitsFollowsArgoCDsWholeSecondFinish(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	line := func(ms int, app, msg string) LogLine {
		return LogLine{Time: at(ms), Message: msg, Fields: map[string]string{"application": "argocd/" + app, "kind": "Deployment", "name": "keycloak"}}
	}
	const refused = "Adding resource result, status: 'SyncFailed', phase: 'Failed', message: 'Deployment.apps \"keycloak\" is invalid'"
	lines := []LogLine{
		// Attempt 0 fails at 1.300 s: 83 ms from its second (1.083 s) is
		// already past, so the retry comes at once.
		line(1300, "q-sign", refused),
		line(1340, "q-sign", "Retrying operation. Attempt #1"),
		line(1350, "other", "Retrying operation. Attempt #9"),
		// Attempt 1 fails at 1.700 s: 3 s from its second is due at 4.000 s.
		line(1700, "q-sign", refused),
		line(1710, "q-sign", "Skipping retrying in-progress operation. Attempting again at: 2026-12-07T15:00:04Z"),
		line(4030, "q-sign", "Retrying operation. Attempt #2"),
	}
	attempts := RetryAttempts(lines, "q-sign")
	require.Len(t, attempts, 2, "another app's retries are left out")
	assert.Equal(t, RetryAttempt{Refused: at(1300), Recorded: at(1340), Retried: at(1340)}, attempts[0], "retried at once: no put-off logged")
	assert.Equal(t, at(1710), attempts[1].Recorded, "put off until the scheduled time")
	assert.Equal(t, at(4000), attempts[1].Scheduled, "Argo CD's own schedule, in whole seconds")

	want := []time.Duration{83 * time.Millisecond, 3 * time.Second}
	assert.NoError(t, CheckRetryWaits(attempts, want))

	// Had the cap not applied (5.33 s), retry 2 would have been seconds later.
	assert.ErrorContains(t, CheckRetryWaits(attempts, []time.Duration{83 * time.Millisecond, 5333 * time.Millisecond}),
		"retry #2 started 2.33s after its attempt failed; with a wait of 5.333s from the failure's whole second it was due between 4.633s and 8.343s after")
	// Late by the refresh Argo CD runs first: on time up to 3 s after.
	assert.NoError(t, CheckRetryWaits([]RetryAttempt{{Refused: at(1700), Recorded: at(1702), Retried: at(7600)}}, want[1:]))
	assert.ErrorContains(t, CheckRetryWaits([]RetryAttempt{{Refused: at(1700), Recorded: at(1702), Retried: at(7800)}}, want[1:]), "retry #1 started 6.1s")
	// A retry late enough to pass the window, but scheduled past the cap.
	uncapped := []RetryAttempt{{Refused: at(1700), Recorded: at(1702), Scheduled: at(6000), Retried: at(6400)}}
	assert.ErrorContains(t, CheckRetryWaits(uncapped, want[1:]), "retry #1 was scheduled for 2026-12-07T15:00:06Z, 4.3s after the failure; with a wait of 3s it was due between 2026-12-07T15:00:04Z and 2026-12-07T15:00:04Z")
	// A wait that did not grow (83 ms again) is due at once, not 2.3 s later.
	assert.ErrorContains(t, CheckRetryWaits(attempts, []time.Duration{83 * time.Millisecond, 83 * time.Millisecond}), "retry #2 was scheduled for 2026-12-07T15:00:04Z, 2.3s after the failure")
	assert.ErrorContains(t, CheckRetryWaits(attempts[:1], want), "1 retries in the controller's log, want 2")

	// A retry before its wait was over fails too.
	early := []RetryAttempt{{Refused: at(1700), Recorded: at(1702), Retried: at(2500)}}
	assert.ErrorContains(t, CheckRetryWaits(early, want[1:]), "retry #1 started 800ms after")
}
