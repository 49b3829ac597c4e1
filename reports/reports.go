package reports

import (
	"sort"

	"github.com/rehearse/rehearse/reports/sequence"

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

// Formats are the godog formatter specs that write this run's files:
// cucumber.json only; WriteJUnit makes junit.xml from it afterwards
// (see JUnitFromCucumber for why not godog's own).
func (r *Run) Formats() []string {
	return []string{"cucumber:" + r.CucumberJSON()}
}

// CheckFiles reads back the run's junit.xml and cucumber.json: CI takes
// junit.xml's word, so a file that does not parse, contradicts itself or
// counts other scenarios than the run played is a problem to fail the run
// on, not a warning. It returns one line per problem, naming the file.
func (r *Run) CheckFiles(scenarios int) []string {
	var problems []string
	for _, f := range []struct {
		path     string
		validate func(string) (int, error)
	}{{r.JUnitXML(), ValidateJUnit}, {r.CucumberJSON(), ValidateCucumber}} {
		n, err := f.validate(f.path)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case n != scenarios:
			problems = append(problems, fmt.Sprintf("%s: %d scenarios, but the run played %d", f.path, n, scenarios))
		}
	}
	return problems
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
	// Flow is the seed flow (0: none); Mermaid the observed sequence
	// diagram; Coverage its score against the flow's numbered steps.
	Flow     int                `json:"flow,omitempty"`
	Mermaid  string             `json:"sequence_diagram,omitempty"`
	Coverage *sequence.Coverage `json:"seed_coverage,omitempty"`
	Events   int                `json:"observed_events"`
	// SVG draws the diagram for index.html.
	SVG string `json:"-"`
}

// FlowCoverage is one flow's score over its passing scenarios of the run:
// a numbered step counts once if any of them observed it. A failed
// scenario proves nothing about the steps it went through.
type FlowCoverage struct {
	Flow     int      `json:"flow"`
	Title    string   `json:"title"`
	Observed int      `json:"observed"`
	Total    int      `json:"total"`
	Missing  []string `json:"missing,omitempty"`
}

// Coverage aggregates the scenarios' seed coverage per flow.
func Coverage(scenarios []ScenarioOutcome) []FlowCoverage {
	byFlow := map[int]*FlowCoverage{}
	first := map[int]*sequence.Coverage{} // any scenario's steps list the flow's labels
	seen := map[int]map[string]bool{}
	var order []int
	for _, s := range scenarios {
		c := s.Coverage
		if c == nil {
			continue
		}
		fc, ok := byFlow[c.Flow]
		if !ok {
			fc = &FlowCoverage{Flow: c.Flow, Title: c.Title, Total: c.Total}
			byFlow[c.Flow], first[c.Flow], seen[c.Flow] = fc, c, map[string]bool{}
			order = append(order, c.Flow)
		}
		if !s.Passed {
			continue // the flow is listed, its steps are not credited
		}
		for _, st := range c.Steps {
			if st.Observed {
				seen[c.Flow][st.Step.Label] = true
			}
		}
	}
	sort.Ints(order)
	var out []FlowCoverage
	for _, n := range order {
		fc := byFlow[n]
		for _, st := range first[n].Steps {
			if !seen[n][st.Step.Label] {
				fc.Missing = append(fc.Missing, st.Step.Label)
			}
		}
		fc.Observed = len(seen[n])
		out = append(out, *fc)
	}
	return out
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
	RunID         string    `json:"run_id"`
	Started       time.Time `json:"started"`
	WallSeconds   float64   `json:"wall_seconds"`
	Backend       string    `json:"backend"`
	ArgoCDVersion string    `json:"argocd_version"`
	Passed        int       `json:"passed"`
	Failed        int       `json:"failed"`
	Lanes         int       `json:"lanes,omitempty"` // scenarios run at once, each lane with its own stack
	// PeakRSSMB adds up each lane's peak (see MemoryRows); LaneStats has
	// each lane's start-up times and memory by component.
	PeakRSSMB float64           `json:"peak_rss_mb"`
	LaneStats []LaneStats       `json:"lane_stats,omitempty"`
	TimeScale float64           `json:"time_scale"`
	Rewrites  []DurationRewrite `json:"duration_rewrites,omitempty"`
	Scenarios []ScenarioOutcome `json:"scenarios"`
	// Coverage is the seed-step coverage per flow (see Coverage).
	Coverage []FlowCoverage `json:"seed_coverage,omitempty"`
	// Strategies is the seed's strategy table as measured by the run's
	// strategy scenarios, in the seed's order.
	Strategies []StrategyRow `json:"strategies,omitempty"`
	// Error is set when the run stopped before running scenarios.
	Error string `json:"error,omitempty"`
	// ReportErrors say why a report file (junit.xml, cucumber.json) is
	// broken; any fails the run, since CI would read a broken file as a pass.
	ReportErrors []string `json:"report_errors,omitempty"`
	// StackProblems are ways the stack departed from the real thing that
	// the run found (Argo CD's embedded cache refusing a command); any fails
	// the run.
	StackProblems []string `json:"stack_problems,omitempty"`
}

// Succeeded is true when the run played scenarios, every one passed, and
// its report files read back whole: a run is only as good as its report.
func (s Summary) Succeeded() bool {
	return s.Error == "" && s.Failed == 0 && s.Passed > 0 && len(s.ReportErrors) == 0 && len(s.StackProblems) == 0
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
