package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNightlyHistoryTrendAndMatrix(t *testing.T) {
	root := t.TempDir()
	for i, v := range []string{"v3.2.11", "v3.6.1"} {
		s := Summary{RunID: "run" + v, Started: time.Now(), ArgoCDVersion: v, WallSeconds: 90, Passed: 2 - i, Failed: i,
			Scenarios: []ScenarioOutcome{
				{Feature: "03_auto_sync.feature", Scenario: "poll", Flow: 3, Passed: true, Seconds: 10},
				{Feature: "05_rollback.feature", Scenario: "rollback", Flow: 5, Passed: i == 0, Seconds: 20},
			},
			Coverage: []FlowCoverage{{Flow: 3, Asserted: 15, Observed: 3, Total: 20}}}
		require.NoError(t, AppendHistory(root, s))
	}
	h, err := ReadHistory(root)
	require.NoError(t, err)
	require.Len(t, h, 2)
	assert.Equal(t, FlowRecord{Passed: 1, Seconds: 10, Asserted: 15, Observed: 3, Total: 20}, h[0].Flows["3"])
	page, err := WriteNightly(root, h, 30)
	require.NoError(t, err)
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	html := string(b)
	assert.Contains(t, html, "100% / 10s / 15 (3) of 20")
	// The rollback scenario differs between the versions: highlighted.
	i := strings.Index(html, "05_rollback.feature: rollback")
	require.Positive(t, i)
	assert.Contains(t, html[strings.LastIndex(html[:i], "<tr"):i], `class="differs"`)
	assert.NotContains(t, html[strings.LastIndex(html[:strings.Index(html, "03_auto_sync.feature: poll")], "<tr"):strings.Index(html, "03_auto_sync.feature: poll")], "differs")

	require.NoError(t, os.WriteFile(filepath.Join(root, HistoryFile), []byte("{}\nnot json\n"), 0o644))
	_, err = ReadHistory(root)
	assert.ErrorContains(t, err, "history.jsonl:2")
}
