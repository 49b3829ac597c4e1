package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Run is one run's report directory.
type Run struct {
	ID   string
	Dir  string
	root string
}

// NewRun creates <root>/<run-id>/ and points <root>/latest at it.
func NewRun(root string, now time.Time) (*Run, error) {
	id := now.UTC().Format("20060102-150405")
	dir := filepath.Join(root, id)
	for i := 1; ; i++ {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			break
		}
		dir = filepath.Join(root, fmt.Sprintf("%s-%d", id, i))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Run{ID: filepath.Base(dir), Dir: dir, root: root}
	latest := filepath.Join(root, "latest")
	tmp := latest + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(r.ID, tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, latest); err != nil {
		return nil, err
	}
	return r, nil
}

// CucumberJSON is the path of the cucumber JSON report.
func (r *Run) CucumberJSON() string { return filepath.Join(r.Dir, "cucumber.json") }

// JUnitXML is the path of the JUnit report.
func (r *Run) JUnitXML() string { return filepath.Join(r.Dir, "junit.xml") }

// Formats are the godog formatter specs that write this run's files.
func (r *Run) Formats() []string {
	return []string{"cucumber:" + r.CucumberJSON(), "junit:" + r.JUnitXML()}
}

// ScenarioOutcome is one scenario in summary.json.
type ScenarioOutcome struct {
	Feature  string  `json:"feature"`
	Scenario string  `json:"scenario"`
	Passed   bool    `json:"passed"`
	Error    string  `json:"error,omitempty"`
	Seconds  float64 `json:"seconds"`
	// Notes are measurements the steps made (stage timings, rollout
	// timelines).
	Notes []string `json:"notes,omitempty"`
}

// DurationRewrite is one seed duration the time scale changed.
type DurationRewrite struct {
	Where    string `json:"where"`
	Seed     string `json:"seed"`
	Real     string `json:"real"`
	Rounding string `json:"rounding,omitempty"`
}

// Summary is summary.json.
type Summary struct {
	RunID         string             `json:"run_id"`
	Started       time.Time          `json:"started"`
	WallSeconds   float64            `json:"wall_seconds"`
	Backend       string             `json:"backend"`
	ArgoCDVersion string             `json:"argocd_version"`
	Passed        int                `json:"passed"`
	Failed        int                `json:"failed"`
	StartSeconds  map[string]float64 `json:"start_seconds"`
	PeakRSSMB     float64            `json:"peak_rss_mb"`
	PeakRSSMBBy   map[string]float64 `json:"peak_rss_mb_by_component,omitempty"`
	TimeScale     float64            `json:"time_scale"`
	Rewrites      []DurationRewrite  `json:"duration_rewrites,omitempty"`
	Scenarios     []ScenarioOutcome  `json:"scenarios"`
	// Error is set when the run stopped before running scenarios.
	Error string `json:"error,omitempty"`
}

// WriteSummary writes summary.json.
func (r *Run) WriteSummary(s Summary) error {
	s.RunID = r.ID
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.Dir, "summary.json"), append(b, '\n'), 0o644)
}
