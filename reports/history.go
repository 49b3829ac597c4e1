package reports

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// HistoryFile collects one line per run under the reports directory; the
// nightly page is drawn from it.
const HistoryFile = "history.jsonl"

// FlowRecord is one flow's figures in one run.
type FlowRecord struct {
	Passed   int     `json:"passed"`
	Failed   int     `json:"failed"`
	Seconds  float64 `json:"seconds"`
	Asserted int     `json:"asserted"`
	Observed int     `json:"observed"`
	Total    int     `json:"total"`
}

// HistoryRecord is one run, as the trend needs it.
type HistoryRecord struct {
	RunID         string                `json:"run_id"`
	Started       time.Time             `json:"started"`
	ArgoCDVersion string                `json:"argocd_version"`
	WallSeconds   float64               `json:"wall_seconds"`
	Passed        int                   `json:"passed"`
	Failed        int                   `json:"failed"`
	Flows         map[string]FlowRecord `json:"flows"`     // by flow number ("1")
	Scenarios     map[string]bool       `json:"scenarios"` // "feature: scenario" -> passed
}

// Record condenses a summary into a history line.
func Record(s Summary) HistoryRecord {
	r := HistoryRecord{RunID: s.RunID, Started: s.Started, ArgoCDVersion: s.ArgoCDVersion, WallSeconds: s.WallSeconds,
		Passed: s.Passed, Failed: s.Failed, Flows: map[string]FlowRecord{}, Scenarios: map[string]bool{}}
	for _, sc := range s.Scenarios {
		key := fmt.Sprint(sc.Flow)
		f := r.Flows[key]
		if sc.Passed {
			f.Passed++
		} else {
			f.Failed++
		}
		f.Seconds += sc.Seconds
		r.Flows[key] = f
		r.Scenarios[sc.Feature+": "+sc.Scenario] = sc.Passed
	}
	for _, c := range s.Coverage {
		key := fmt.Sprint(c.Flow)
		f := r.Flows[key]
		f.Asserted, f.Observed, f.Total = c.Asserted, c.Observed, c.Total
		r.Flows[key] = f
	}
	return r
}

// AppendHistory adds a run to root's history.
func AppendHistory(root string, s Summary) error {
	b, err := json.Marshal(Record(s))
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(root, HistoryFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	return err
}

// ReadHistory reads root's history, oldest first. A malformed line is an
// error naming it.
func ReadHistory(root string) ([]HistoryRecord, error) {
	f, err := os.Open(filepath.Join(root, HistoryFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []HistoryRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r HistoryRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", filepath.Join(root, HistoryFile), line, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// matrixRow is one scenario across Argo CD versions.
type matrixRow struct {
	Scenario string
	Results  []string // per version: passed, failed, -
	Differs  bool
}

// WriteNightly renders root/nightly.html: the trend of the last runs per
// flow (pass rate, duration, seed coverage) and, from each version's
// latest run, a scenarios x Argo CD versions matrix highlighting where
// behaviour differs.
func WriteNightly(root string, history []HistoryRecord, last int) (string, error) {
	if len(history) > last {
		history = history[len(history)-last:]
	}
	flowSet := map[string]bool{}
	latest := map[string]HistoryRecord{}
	var versions []string
	for _, r := range history {
		for f := range r.Flows {
			flowSet[f] = true
		}
		if _, ok := latest[r.ArgoCDVersion]; !ok {
			versions = append(versions, r.ArgoCDVersion)
		}
		latest[r.ArgoCDVersion] = r
	}
	var flows []string
	for f := range flowSet {
		flows = append(flows, f)
	}
	sort.Slice(flows, func(i, j int) bool {
		return len(flows[i]) < len(flows[j]) || len(flows[i]) == len(flows[j]) && flows[i] < flows[j]
	})
	sort.Strings(versions)
	scenarioSet := map[string]bool{}
	for _, v := range versions {
		for s := range latest[v].Scenarios {
			scenarioSet[s] = true
		}
	}
	var rows []matrixRow
	for s := range scenarioSet {
		row := matrixRow{Scenario: s}
		seen := map[string]bool{}
		for _, v := range versions {
			res := "-"
			if passed, ok := latest[v].Scenarios[s]; ok {
				res = map[bool]string{true: "passed", false: "failed"}[passed]
			}
			row.Results = append(row.Results, res)
			seen[res] = true
		}
		row.Differs = len(seen) > 1
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Scenario < rows[j].Scenario })
	path := filepath.Join(root, "nightly.html")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return path, nightlyPage.Execute(f, struct {
		History  []HistoryRecord
		Flows    []string
		Versions []string
		Rows     []matrixRow
	}{history, flows, versions, rows})
}

var nightlyPage = template.Must(template.New("nightly").Funcs(template.FuncMap{
	"flow": func(r HistoryRecord, f string) FlowRecord { return r.Flows[f] },
	"rate": func(fr FlowRecord) string {
		if fr.Passed+fr.Failed == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(fr.Passed)/float64(fr.Passed+fr.Failed))
	},
	"sec": func(v float64) string { return (time.Duration(v * float64(time.Second))).Round(time.Second).String() },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rehearse nightly</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}.passed{color:#17662b}.failed{color:#b00020;font-weight:bold}
tr.differs{background:#fff3cd}</style></head><body>
<h1>Rehearse nightly conformance</h1>
<h2>Trend (last {{len .History}} runs)</h2>
<table><tr><th>run</th><th>Argo CD</th><th>passed</th><th>wall</th>{{range .Flows}}<th>flow {{.}}: pass / time / seed steps asserted (observed)</th>{{end}}</tr>
{{range $r := .History}}<tr><td>{{$r.RunID}}</td><td>{{$r.ArgoCDVersion}}</td><td class="{{if $r.Failed}}failed{{else}}passed{{end}}">{{$r.Passed}}/{{len $r.Scenarios}}</td><td>{{sec $r.WallSeconds}}</td>
{{range $f := $.Flows}}{{with flow $r $f}}<td>{{rate .}} / {{sec .Seconds}} / {{.Asserted}} ({{.Observed}}) of {{.Total}}</td>{{end}}{{end}}</tr>
{{end}}</table>
<h2>Scenarios x Argo CD versions (latest run of each)</h2>
<table><tr><th>scenario</th>{{range .Versions}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr{{if .Differs}} class="differs"{{end}}><td>{{.Scenario}}</td>{{range .Results}}<td class="{{.}}">{{.}}</td>{{end}}</tr>
{{end}}</table>
<p>Rows highlighted: the Argo CD versions behaved differently.</p>
</body></html>
`))
