package reports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRunCreatesDirAndMovesLatest(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	a, err := NewRun(root, now)
	require.NoError(t, err)
	b, err := NewRun(root, now) // same second: a distinct directory
	require.NoError(t, err)
	assert.NotEqual(t, a.Dir, b.Dir)
	target, err := os.Readlink(filepath.Join(root, "latest"))
	require.NoError(t, err)
	assert.Equal(t, b.ID, target)

	require.NoError(t, b.WriteSummary(Summary{Passed: 3, Failed: 1, Scenarios: []ScenarioOutcome{{Feature: "f", Scenario: "s", Passed: true}}}))
	raw, err := os.ReadFile(filepath.Join(root, "latest", "summary.json"))
	require.NoError(t, err)
	var s Summary
	require.NoError(t, json.Unmarshal(raw, &s))
	assert.Equal(t, b.ID, s.RunID)
	assert.Equal(t, 3, s.Passed)
}
