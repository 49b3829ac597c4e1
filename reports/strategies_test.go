package reports

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSeedStrategies(t *testing.T) {
	b, err := os.ReadFile("../features/seed/gitops-flows.md")
	require.NoError(t, err)
	got := ParseSeedStrategies(b)
	require.Len(t, got, 4)
	require.Equal(t, SeedStrategy{Strategy: "Blue-Green", Downtime: "none", ResourceUse: "high (2x)", RollbackSpeed: "fast",
		Risk: "low", UseCase: "critical deployments"}, got[1])
	require.Equal(t, "Recreate", got[3].Strategy)
	require.Equal(t, "yes", got[3].Downtime)
	require.Empty(t, ParseSeedStrategies([]byte("no table here\n| a | b |\n")))

	seed, order := SeedStrategyNamed(b, "blue-green")
	require.NotNil(t, seed)
	assert.Equal(t, "Blue-Green", seed.Strategy)
	assert.Equal(t, 2, order)
	seed, order = SeedStrategyNamed(b, "shadow")
	assert.Nil(t, seed)
	assert.Zero(t, order)
}

// "no downtime" also means no long stretch without an answer: a gap of
// ten request intervals is downtime even when no request failed.
func TestDowntimeCountsFailuresAndLongGaps(t *testing.T) {
	row := func(failed int, gap float64) StrategyRow {
		return StrategyRow{Strategy: "s", Requests: 200, Failed: failed, LongestGapSeconds: gap, RequestsPerSecond: 50}
	}
	for _, c := range []struct {
		row  StrategyRow
		want bool
		why  string
	}{
		{row(0, 0.026), false, "longest gap was 0.026s (downtime from 0.200s)"},
		{row(0, 0.199), false, ""},
		{row(0, 0.82), true, "none was answered for 0.820s"},
		{row(40, 0.82), true, "40 of 200 requests failed"},
		{row(1, 0.02), true, "1 of 200 requests failed"},
		{StrategyRow{LongestGapSeconds: 0.15}, true, "downtime from 0.100s"},
	} {
		saw, why := c.row.Downtime()
		assert.Equal(t, c.want, saw, why)
		assert.Contains(t, why, c.why)
	}
}

func TestRollbackOrderNamesEveryPairThatDisagreesWithTheSeed(t *testing.T) {
	row := func(name, speed string, seconds float64) StrategyRow {
		return StrategyRow{Strategy: name, Seed: &SeedStrategy{Strategy: name, RollbackSpeed: speed}, RollbackSeconds: seconds}
	}
	agree := []StrategyRow{row("Rolling Update", "medium", 4), row("Blue-Green", "fast", 1.2), row("Canary", "fast", 1.5), row("Recreate", "slow", 6)}
	assert.Empty(t, RollbackOrder(agree), "fast <= medium <= slow; two fast ones are not compared")

	// As measured on 2026-12-07: Canary walks its steps again, Recreate is quick.
	measured := []StrategyRow{row("Rolling Update", "medium", 4.01), row("Blue-Green", "fast", 1.20), row("Canary", "fast", 4.99), row("Recreate", "slow", 1.88)}
	got := RollbackOrder(measured)
	assert.Equal(t, []string{
		"the seed rolls Rolling Update back faster (medium) than Recreate (slow), but here it took 4.01 s against 1.88 s",
		"the seed rolls Canary back faster (fast) than Rolling Update (medium), but here it took 4.99 s against 4.01 s",
		"the seed rolls Canary back faster (fast) than Recreate (slow), but here it took 4.99 s against 1.88 s",
	}, got)

	unmeasured := []StrategyRow{row("Rolling Update", "medium", 0), row("Recreate", "slow", 1)}
	assert.Empty(t, RollbackOrder(unmeasured), "a row without a rollback is not compared")
}
