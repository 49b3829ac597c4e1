package reports

import (
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rehearse/rehearse/reports/sequence"
)

// cucumber JSON as godog writes it (the fields the page shows).
type cucumberFeature struct {
	URI      string            `json:"uri"`
	Name     string            `json:"name"`
	Elements []cucumberElement `json:"elements"`
}

type cucumberElement struct {
	Name  string                  `json:"name"`
	Line  int                     `json:"line"`
	Type  string                  `json:"type"`
	Tags  []struct{ Name string } `json:"tags"`
	Steps []cucumberStep          `json:"steps"`
}

type cucumberStep struct {
	Keyword string `json:"keyword"`
	Name    string `json:"name"`
	Line    int    `json:"line"`
	Result  struct {
		Status   string `json:"status"`
		Duration int64  `json:"duration"` // nanoseconds
		Error    string `json:"error_message"`
	} `json:"result"`
}

func (s cucumberStep) Took() string {
	return time.Duration(s.Result.Duration).Round(time.Millisecond).String()
}

func (e cucumberElement) Status() string {
	status := "passed"
	for _, s := range e.Steps {
		switch s.Result.Status {
		case "failed", "undefined", "pending", "ambiguous":
			return "failed"
		case "skipped":
			status = "skipped"
		}
	}
	return status
}

// WriteHTML renders index.html from cucumber.json and the summary: one
// self-contained page (no scripts, no external assets) that opens offline.
func (r *Run) WriteHTML(s Summary) error {
	var features []cucumberFeature
	if b, err := os.ReadFile(r.CucumberJSON()); err == nil && len(b) > 0 {
		if err := json.Unmarshal(b, &features); err != nil {
			return fmt.Errorf("reading %s: %w", r.CucumberJSON(), err)
		}
	}
	s.RunID = r.ID
	f, err := os.Create(filepath.Join(r.Dir, "index.html"))
	if err != nil {
		return err
	}
	defer f.Close()
	return page.Execute(f, struct {
		Summary   Summary
		Features  []cucumberFeature
		Notes     []ScenarioOutcome
		Sequences map[string]ScenarioOutcome
		Showcase  map[string]ScenarioOutcome
	}{s, features, withNotes(s.Scenarios), byName(s.Scenarios), showcase(s.Scenarios)})
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"mb":   func(v float64) string { return fmt.Sprintf("%.0f MB", v) },
	"join": strings.Join,
	"base": filepath.Base,
	// The diagram's SVG is built by reports/sequence, which escapes every
	// text it draws.
	"svg": func(s string) template.HTML { return template.HTML(s) }, // #nosec G203
	"sec": func(v float64) string {
		return (time.Duration(v * float64(time.Second))).Round(time.Millisecond).String()
	},
	"startupRows": StartupRows,
	"memoryRows":  MemoryRows,
	// An asserted step shows as passed, an observed one as pending, a
	// missing one as skipped.
	"verdictClass": func(v sequence.Verdict) string {
		switch v {
		case sequence.Asserted:
			return "passed"
		case sequence.Observed:
			return "pending"
		}
		return "skipped"
	},
}).Parse(`{{define "rows"}}<table class="lanes">{{range $i, $r := .}}<tr>{{range $r}}{{if eq $i 0}}<th>{{.}}</th>{{else}}<td>{{.}}</td>{{end}}{{end}}</tr>{{end}}</table>{{end}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rehearse run {{.Summary.RunID}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}
.passed{color:#17662b}.failed{color:#b00020;font-weight:bold}.skipped{color:#777}.pending{color:#8a5a00}
.diagram{overflow-x:auto;border:1px solid #ddd;margin:.5em 0}table.coverage td{font-size:12px}
details{margin:.3em 0}summary{cursor:pointer}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;margin:.2em 0}
</style></head><body>
<h1>Rehearse run {{.Summary.RunID}}</h1>
<p class="{{if .Summary.Failed}}failed{{else}}passed{{end}}">{{.Summary.Passed}} passed, {{.Summary.Failed}} failed</p>
{{if .Summary.Error}}<pre class="failed">{{.Summary.Error}}</pre>{{end}}
{{range .Summary.ReportErrors}}<p class="failed">The report is broken, so the run failed: {{.}}</p>{{end}}
{{range .Summary.StackProblems}}<p class="failed">The run failed: {{.}}</p>{{end}}
<table>
<tr><th>started</th><td>{{.Summary.Started.Format "2006-01-02 15:04:05 MST"}}</td></tr>
<tr><th>wall time</th><td>{{sec .Summary.WallSeconds}}</td></tr>
<tr><th>backend</th><td>{{.Summary.Backend}}</td></tr>
<tr><th>Argo CD</th><td>{{.Summary.ArgoCDVersion}}</td></tr>
<tr><th>time scale</th><td>{{.Summary.TimeScale}}x</td></tr>
{{if .Summary.Lanes}}<tr><th>lanes</th><td>{{.Summary.Lanes}} (scenarios at once, each lane with its own cluster and Argo CD)</td></tr>{{end}}
<tr><th>peak stack memory</th><td>{{mb .Summary.PeakRSSMB}}{{if gt (len .Summary.LaneStats) 1}} (the sum of the lanes' peaks){{end}}</td></tr>
</table>
{{with .Summary.LaneStats}}{{template "rows" startupRows .}}{{template "rows" memoryRows .}}{{end}}
{{if .Summary.Coverage}}<h2>Seed-step coverage</h2>
<p><b>asserted</b>: a Then step of a passing scenario checked the step's effect against the real system; <b>observed</b>: seen in a component's record in the seed's order, not asserted; <b>missing</b>: neither, with the reason.</p>
<table><tr><th>flow</th><th>asserted</th><th>observed</th><th>missing</th></tr>
{{range .Summary.Coverage}}<tr><td>{{.Flow}}. {{.Title}}</td><td>{{.Asserted}} / {{.Total}}</td><td>{{.Observed}}</td><td>{{.Missing}}</td></tr>{{end}}</table>
{{range .Summary.Coverage}}<details><summary>flow {{.Flow}}. {{.Title}}: {{.Asserted}} asserted, {{.Observed}} observed, {{.Missing}} missing</summary>
<table class="coverage"><tr><th>seed step</th><th>verdict</th><th>by</th><th>record</th><th>why not asserted</th></tr>
{{range .Steps}}<tr class="{{verdictClass .Verdict}}"><td>{{.Number}}. {{.Text}}</td><td>{{.Verdict}}</td><td>{{with .Step}}{{.}}{{end}}{{with .Scenario}} <small>({{.}})</small>{{end}}</td><td>{{with .Event}}{{.Message}} <small>({{.Observer}})</small>{{end}}</td><td>{{.Reason}}</td></tr>
{{end}}</table></details>{{end}}{{end}}
{{if .Summary.Strategies}}<h2>Deployment strategies, measured</h2>
<p>Each strategy rolled a release out and back under constant traffic; the seed's words beside what was measured.</p>
<table class="strategies"><tr><th>strategy</th><th>downtime (seed)</th><th>failed requests, longest gap (measured)</th><th>resource use (seed)</th><th>peak pods / steady (measured)</th><th>peak running, terminating aside</th><th>rollback speed (seed)</th><th>rollback (measured)</th><th>rollout (measured)</th><th>risk (seed)</th><th>use case (seed)</th></tr>
{{range .Summary.Strategies}}<tr><td>{{.Strategy}}</td><td>{{with .Seed}}{{.Downtime}}{{end}}</td><td>{{.Failed}} of {{.Requests}}, {{sec .LongestGapSeconds}}</td><td>{{with .Seed}}{{.ResourceUse}}{{end}}</td><td>{{.PeakPods}} / {{.SteadyPods}} ({{printf "%.2f" .PeakRatio}}x)</td><td>{{.PeakRunningPods}} ({{printf "%.2f" .RunningRatio}}x)</td><td>{{with .Seed}}{{.RollbackSpeed}}{{end}}</td><td>{{sec .RollbackSeconds}}</td><td>{{sec .RolloutSeconds}}</td><td>{{with .Seed}}{{.Risk}}{{end}}</td><td>{{with .Seed}}{{.UseCase}}{{end}}</td></tr>
{{end}}</table>
{{with .Summary.RollbackDisagreements}}<p>Rollback speed against the seed's order (fast, medium, slow):</p><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{else}}{{if gt (len .Summary.Strategies) 1}}<p>The measured rollbacks keep the seed's order of rollback speeds.</p>{{end}}{{end}}{{end}}
{{range .Features}}<h2>{{.Name}} <small>({{.URI}})</small></h2>
{{with index $.Showcase (base .URI)}}<h3>Observed sequence diagram <small>({{.Scenario}}{{with .Coverage}}: {{.Asserted}} asserted, {{.Observed}} observed of {{.Total}} seed steps of flow {{.Flow}}{{end}})</small></h3>
<div class="diagram">{{svg .SVG}}</div>{{end}}
{{range .Elements}}<details{{if eq .Status "failed"}} open{{end}}><summary class="{{.Status}}">{{.Status}}: {{.Name}} <small>line {{.Line}}</small></summary>
<table>{{range .Steps}}<tr class="{{.Result.Status}}"><td>{{.Keyword}}{{.Name}}</td><td>{{.Result.Status}}</td><td>{{.Took}}</td></tr>
{{if .Result.Error}}<tr><td colspan="3"><pre>{{.Result.Error}}</pre></td></tr>{{end}}{{end}}</table>
{{with index $.Sequences .Name}}{{if .SVG}}<h4>Observed sequence diagram{{with .Coverage}}: {{.Asserted}} asserted, {{.Observed}} observed of {{.Total}} seed steps of flow {{.Flow}}{{end}}</h4>
<div class="diagram">{{svg .SVG}}</div>
{{with .Coverage}}<table class="coverage"><tr><th>seed step</th><th>verdict</th><th>asserted by</th><th>record</th></tr>{{range .Steps}}<tr class="{{verdictClass .Verdict}}"><td>{{.Step.Label}}. {{.Step.Text}}</td><td>{{.Verdict}}</td><td>{{.AssertedBy}}</td><td>{{with .Event}}{{.Message}} <small>({{.Observer}})</small>{{end}}</td></tr>{{end}}</table>{{end}}
<details><summary>Mermaid source</summary><pre>{{.Mermaid}}</pre></details>{{end}}{{end}}</details>
{{end}}{{end}}
{{if .Notes}}<h2>Measurements</h2>
{{range .Notes}}<h3>{{.Scenario}} <small>({{.Feature}})</small></h3><ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}
{{if .Summary.Rewrites}}<h2>Durations rewritten by the time scale</h2>
<table><tr><th>where</th><th>seed</th><th>real</th><th>rounding</th></tr>
{{range .Summary.Rewrites}}<tr><td>{{.Where}}</td><td>{{.Seed}}</td><td>{{.Real}}</td><td>{{.Rounding}}</td></tr>{{end}}</table>{{end}}
</body></html>
`))

func withNotes(all []ScenarioOutcome) []ScenarioOutcome {
	var out []ScenarioOutcome
	for _, o := range all {
		if len(o.Notes) > 0 {
			out = append(out, o)
		}
	}
	return out
}

func byName(all []ScenarioOutcome) map[string]ScenarioOutcome {
	out := map[string]ScenarioOutcome{}
	for _, o := range all {
		out[o.Scenario] = o
	}
	return out
}

// showcase picks, per feature file, the scenario whose diagram covers the
// most seed steps: it is drawn open at the top of the feature's section.
func showcase(all []ScenarioOutcome) map[string]ScenarioOutcome {
	out := map[string]ScenarioOutcome{}
	score := func(o ScenarioOutcome) int {
		if o.Coverage == nil {
			return 0
		}
		return 2*o.Coverage.Asserted + o.Coverage.Observed
	}
	for _, o := range all {
		if o.SVG == "" {
			continue
		}
		key := o.Feature
		if best, ok := out[key]; !ok || score(o) > score(best) {
			out[key] = o
		}
	}
	return out
}

// ValidateCucumber checks that path is cucumber JSON as godog writes it
// (an array of features, each scenario named, each step with a known
// status) and returns how many scenarios it holds.
func ValidateCucumber(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var features []cucumberFeature
	if err := json.Unmarshal(raw, &features); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	n := 0
	for i, f := range features {
		if f.URI == "" {
			return 0, fmt.Errorf("%s: feature %d (%q) has no uri", path, i+1, f.Name)
		}
		for _, e := range f.Elements {
			if e.Type != "scenario" {
				continue
			}
			n++
			if e.Name == "" {
				return 0, fmt.Errorf("%s: %s:%d: a scenario without a name", path, f.URI, e.Line)
			}
			for _, s := range e.Steps {
				switch s.Result.Status {
				case "passed", "failed", "skipped", "undefined", "pending", "ambiguous":
				default:
					return 0, fmt.Errorf("%s: %s:%d: step %q has status %q", path, f.URI, s.Line, s.Name, s.Result.Status)
				}
			}
		}
	}
	return n, nil
}
