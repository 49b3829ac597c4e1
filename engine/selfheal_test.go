package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSelfHealWaitGrowsByTheFactorUpToItsCap(t *testing.T) {
	b := SelfHealBackoff{Base: 2 * time.Second, Factor: 3, Max: 20 * time.Second}
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, b.Wait(n))
	}
	assert.Equal(t, []time.Duration{0, 2 * time.Second, 6 * time.Second, 18 * time.Second, 20 * time.Second, 20 * time.Second}, got)
	assert.Equal(t, 20*time.Second, b.Wait(200), "no overflow past the cap")
}

func TestCheckRevertRefusesAnEarlyOrLateHeal(t *testing.T) {
	b := SelfHealBackoff{Base: 2 * time.Second, Factor: 2, Max: 10 * time.Second}
	assert.NoError(t, b.CheckRevert(1, 300*time.Millisecond), "the first drift is reverted at once")
	assert.NoError(t, b.CheckRevert(3, 3200*time.Millisecond), "whole-second timestamps: a second early is allowed")
	assert.ErrorContains(t, b.CheckRevert(3, 2500*time.Millisecond), "before the self-heal backoff of 4s")
	assert.ErrorContains(t, b.CheckRevert(2, 7500*time.Millisecond), "only after 7.5s, backoff 2s")
	assert.ErrorContains(t, b.CheckRevert(1, 6*time.Second), "only after", "a first heal that waited is not the backoff's")
}
