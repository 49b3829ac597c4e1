package steps

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFeature(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.feature"), []byte(text), 0o644))
	return dir
}

func TestUserStepsAreKnownAndChecked(t *testing.T) {
	dir := writeFeature(t, "Feature: f\n  Scenario: s\n    Then the shop has 3 open orders\n")
	assert.ErrorContains(t, CheckSteps([]string{dir}), `unknown step "the shop has 3 open orders"`)
	orders := UserStep{Pattern: `^the shop has (\d+) open orders$`,
		Fn: func(ctx context.Context, s *Scenario, n int) error { return nil }}
	require.NoError(t, checkSteps([]string{dir}, []UserStep{orders}))

	for _, bad := range []UserStep{
		{Pattern: `^(unclosed$`, Fn: orders.Fn},
		{Pattern: `^x$`, Fn: func(n int) error { return nil }},
		{Pattern: `^x$`, Fn: func(ctx context.Context, s *Scenario) {}},
		{Pattern: `^x$`, Fn: "not a function"},
	} {
		assert.Error(t, checkSteps([]string{dir}, []UserStep{bad}), "%+v", bad)
	}

	// A user's step that a built-in one also matches is refused, naming both.
	dir = writeFeature(t, "Feature: f\n  Scenario: s\n    Given the Git server is down\n")
	err := checkSteps([]string{dir}, []UserStep{{Pattern: `^the Git server is (.*)$`,
		Fn: func(ctx context.Context, s *Scenario, state string) error { return nil }}})
	assert.ErrorContains(t, err, `a.feature:3: step "the Git server is down" is ambiguous: it matches ^the Git server is down$ and ^the Git server is (.*)$`)
}

func TestUserStepBindsTheScenarioAndTheArguments(t *testing.T) {
	var got []any
	u := UserStep{Pattern: `^x (\d+) (\w+)$`, Fn: func(ctx context.Context, s *Scenario, n int, word string) error {
		got = append(got, s.Name(), n, word)
		return nil
	}}
	w := newWorld(nil, "checkout", "s1")
	bound := u.bind(w).(func(context.Context, int, string) error)
	require.NoError(t, bound(context.Background(), 3, "orders"))
	assert.Equal(t, []any{"checkout", 3, "orders"}, got)
}
