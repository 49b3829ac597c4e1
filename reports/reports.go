package reports

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rehearse/rehearse/reports/sequence"
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

// FlowCoverage is one flow's score over its passing scenarios of the run.
// Each numbered step gets one verdict: asserted if a Then step of a
// passing scenario checked it, else observed if a passing scenario's
// record showed it in the seed's order, else missing, with the reason. A
// failed scenario proves nothing about the steps it went through.
type FlowCoverage struct {
	Flow     int        `json:"flow"`
	Title    string     `json:"title"`
	Total    int        `json:"total"`
	Asserted int        `json:"asserted"`
	Observed int        `json:"observed"`
	Missing  int        `json:"missing"`
	Steps    []FlowStep `json:"steps"`
}

// FlowStep is one seed step's verdict in a run.
type FlowStep struct {
	Number  string           `json:"number"`
	Text    string           `json:"text"`
	Verdict sequence.Verdict `json:"verdict"`
	// Scenario is the passing scenario the verdict comes from; Step the
	// Then step that asserted it ("features/04_self_heal.feature:31").
	Scenario string `json:"scenario,omitempty"`
	Step     string `json:"step,omitempty"`
	// Event is the record that showed the step in that scenario, if one did.
	Event *sequence.Event `json:"event,omitempty"`
	// Reason says why a step is not asserted.
	Reason string `json:"reason,omitempty"`
}

// Line is the flow's terminal line: "flow 4 (Self-Heal): 17 steps: 15
// asserted, 1 observed, 1 missing".
func (fc FlowCoverage) Line() string {
	return fmt.Sprintf("flow %d (%s): %d steps: %d asserted, %d observed, %d missing", fc.Flow, fc.Title, fc.Total, fc.Asserted, fc.Observed, fc.Missing)
}

// Coverage aggregates the scenarios' seed coverage per flow.
func Coverage(scenarios []ScenarioOutcome) []FlowCoverage {
	type flowRun struct {
		steps  []sequence.Step // the flow's steps, from any scenario's coverage
		passed []ScenarioOutcome
		failed []string // failed scenarios' names
		title  string
	}
	flows := map[int]*flowRun{}
	for _, s := range scenarios {
		c := s.Coverage
		if c == nil {
			continue
		}
		fr, ok := flows[c.Flow]
		if !ok {
			fr = &flowRun{title: c.Title}
			for _, st := range c.Steps {
				fr.steps = append(fr.steps, st.Step)
			}
			flows[c.Flow] = fr
		}
		if s.Passed {
			fr.passed = append(fr.passed, s)
		} else {
			fr.failed = append(fr.failed, s.Scenario)
		}
	}
	var out []FlowCoverage
	for _, n := range slices.Sorted(maps.Keys(flows)) {
		fr := flows[n]
		fc := FlowCoverage{Flow: n, Title: fr.title, Total: len(fr.steps)}
		for j, st := range fr.steps {
			fs := FlowStep{Number: st.Label, Text: st.Text, Verdict: sequence.Missing}
			// The first passing scenario that asserted the step, else the
			// first that observed it.
			for _, s := range fr.passed {
				r := s.Coverage.Steps[j]
				if r.Verdict == sequence.Asserted {
					fs = FlowStep{Number: st.Label, Text: st.Text, Verdict: sequence.Asserted, Scenario: s.Scenario, Step: r.AssertedBy, Event: r.Event}
					break
				}
				if r.Event != nil && fs.Verdict == sequence.Missing {
					fs = FlowStep{Number: st.Label, Text: st.Text, Verdict: sequence.Observed, Scenario: s.Scenario, Event: r.Event,
						Reason: "seen in the record (" + r.Event.Observer + "), but no Then step of a passing scenario checks it"}
				}
			}
			if fs.Verdict == sequence.Missing {
				fs.Reason = missingReason(n, st.Label, fr.failed)
			}
			switch fs.Verdict {
			case sequence.Asserted:
				fc.Asserted++
			case sequence.Observed:
				fc.Observed++
			default:
				fc.Missing++
			}
			fc.Steps = append(fc.Steps, fs)
		}
		out = append(out, fc)
	}
	return out
}

// missingReason says why a step is neither asserted nor observed: the
// seed's step is one Rehearse knowingly does not reproduce, or no passing
// scenario shows it.
func missingReason(flow int, label string, failed []string) string {
	if why, ok := sequence.Plays[flow].NotReproduced[label]; ok {
		return "not reproduced: " + why
	}
	why := "no Then step of a passing scenario checks it and no passing scenario's record shows it"
	if len(failed) > 0 {
		why += fmt.Sprintf(" (%d scenario(s) of the flow failed and count for nothing: %s)", len(failed), strings.Join(failed, "; "))
	}
	return why
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
	// RollbackDisagreements say where the measured rollbacks do not keep
	// the seed's order of rollback speeds (see RollbackOrder).
	RollbackDisagreements []string `json:"rollback_order_disagreements,omitempty"`
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
