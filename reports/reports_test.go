package reports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/reports/sequence"
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

func TestWriteHTMLShowsOutcomesStepsAndErrors(t *testing.T) {
	r, err := NewRun(t.TempDir(), time.Now())
	require.NoError(t, err)
	cucumber := `[{"uri":"features/02.feature","name":"Flow 2","elements":[{"name":"creates the app","line":14,"type":"scenario","steps":[
	 {"keyword":"Given ","name":"a step","line":15,"result":{"status":"passed","duration":1500000}},
	 {"keyword":"Then ","name":"<b>it fails</b>","line":16,"result":{"status":"failed","duration":2000000,"error_message":"gave up after 30s"}}]}]}]`
	require.NoError(t, os.WriteFile(r.CucumberJSON(), []byte(cucumber), 0o644))
	require.NoError(t, r.WriteHTML(Summary{Passed: 0, Failed: 1, TimeScale: 60,
		Rewrites: []DurationRewrite{{Where: "argocd-cm timeout.reconciliation", Seed: "3m0s", Real: "3s"}}}))
	page, err := os.ReadFile(filepath.Join(r.Dir, "index.html"))
	require.NoError(t, err)
	html := string(page)
	assert.Contains(t, html, "0 passed, 1 failed")
	assert.Contains(t, html, "failed: creates the app")
	assert.Contains(t, html, "gave up after 30s")
	assert.Contains(t, html, "&lt;b&gt;it fails&lt;/b&gt;", "step text is escaped")
	assert.Contains(t, html, "argocd-cm timeout.reconciliation")
	assert.NotContains(t, html, "<script", "self-contained, no scripts")
	assert.NotContains(t, html, "http", "no external assets")
}

func TestSucceededNeedsPassedScenariosAndAWholeReport(t *testing.T) {
	assert.True(t, Summary{Passed: 3}.Succeeded())
	assert.False(t, Summary{Passed: 3, Failed: 1}.Succeeded())
	assert.False(t, Summary{}.Succeeded(), "a run that played nothing did not succeed")
	assert.False(t, Summary{Passed: 3, Error: "no scenario matched"}.Succeeded())
	assert.False(t, Summary{Passed: 3, ReportErrors: []string{"junit.xml: tests=2 but 1 testcases"}}.Succeeded())
	assert.False(t, Summary{Passed: 3, StackProblems: []string{"Argo CD sent Redis commands its embedded cache does not serve: X"}}.Succeeded())
}

func TestLaneTables(t *testing.T) {
	lanes := []LaneStats{
		{Lane: "lane 1", ClusterSeconds: 3.64, ArgoCDSeconds: 3.31, RolloutsSeconds: 1.2,
			DestinationClusterSeconds: map[string]float64{"staging": 4.2, "dev": 4.04},
			PeakRSSMB:                 900, PeakRSSMBBy: map[string]float64{"kube-apiserver": 590, "etcd": 60, "argocd-server": 250}},
		{Lane: "lane 2", ClusterSeconds: 9.4, ArgoCDSeconds: 4.95,
			PeakRSSMB: 700, PeakRSSMBBy: map[string]float64{"kube-apiserver": 600, "etcd": 100}},
	}
	var b strings.Builder
	require.NoError(t, WriteTable(&b, StartupRows(lanes)))
	require.NoError(t, WriteTable(&b, MemoryRows(lanes)))
	assert.Equal(t, `start-up  cluster  Argo CD  Argo Rollouts  destination clusters
lane 1    3.6 s    3.3 s    1.2 s          dev 4.0 s, staging 4.2 s
lane 2    9.4 s    5.0 s    -              -
peak memory, MB  lane 1  lane 2  sum of the lanes' peaks
kube-apiserver   590     600     1190
argocd-server    250     0       250
etcd             60      100     160
all components   900     700     1600
`, b.String())

	assert.Nil(t, StartupRows([]LaneStats{{Lane: "lane 1"}}), "nothing started, no table")
	assert.Nil(t, MemoryRows([]LaneStats{{Lane: "lane 1"}}), "nothing sampled, no table")
	idle := append(lanes[:1:1], LaneStats{Lane: "lane 2"})
	assert.Len(t, StartupRows(idle), 2, "a lane that never started is left out")
	assert.Equal(t, []string{"peak memory, MB", "lane 1"}, MemoryRows(idle)[0])
	one := MemoryRows(lanes[:1])
	assert.Equal(t, []string{"peak memory, MB", "lane 1"}, one[0], "one lane: no sum column")
}

// Each step gets one verdict over the flow's passing scenarios: asserted
// beats observed beats missing, and a failed scenario counts for nothing,
// however far it went.
func TestCoverageGivesEachStepOneVerdictFromPassingScenarios(t *testing.T) {
	seen := &sequence.Event{From: "Operator", To: "Kubernetes", Message: "kubectl scale", Observer: "step"}
	cov := func(claimed string, events ...*sequence.Event) *sequence.Coverage {
		c := &sequence.Coverage{Flow: 4, Title: "Self-Heal", Total: 3}
		for i, label := range []string{"1", "2", "3"} {
			r := sequence.StepResult{Step: sequence.Step{Label: label, Text: "step " + label}}
			if i < len(events) {
				r.Event = events[i]
			}
			c.Steps = append(c.Steps, r)
		}
		if claimed != "" {
			c.Assert([]sequence.Claim{{Flow: 4, Labels: []string{claimed}, Step: "features/04.feature:12"}})
		} else {
			c.Assert(nil)
		}
		return c
	}
	got := Coverage([]ScenarioOutcome{
		{Scenario: "observes 1", Passed: true, Coverage: cov("", seen)},
		{Scenario: "asserts 1", Passed: true, Coverage: cov("1")},
		{Scenario: "fails after asserting 3", Passed: false, Coverage: cov("3", seen, seen, seen)},
	})
	require.Len(t, got, 1)
	fc := got[0]
	assert.Equal(t, []int{3, 1, 0, 2}, []int{fc.Total, fc.Asserted, fc.Observed, fc.Missing})
	assert.Equal(t, FlowStep{Number: "1", Text: "step 1", Verdict: sequence.Asserted, Scenario: "asserts 1", Step: "features/04.feature:12"}, fc.Steps[0],
		"an assertion wins over an earlier scenario's observation")
	assert.Equal(t, sequence.Missing, fc.Steps[2].Verdict, "only the failed scenario asserted step 3")
	assert.Contains(t, fc.Steps[2].Reason, "fails after asserting 3")
	assert.Equal(t, "flow 4 (Self-Heal): 3 steps: 1 asserted, 0 observed, 2 missing", fc.Line())

	got = Coverage([]ScenarioOutcome{{Scenario: "observes 1", Passed: true, Coverage: cov("", seen)}})
	assert.Equal(t, sequence.Observed, got[0].Steps[0].Verdict)
	assert.Equal(t, seen, got[0].Steps[0].Event)
	assert.Contains(t, got[0].Steps[0].Reason, "no Then step of a passing scenario checks it")

	only := Coverage([]ScenarioOutcome{{Scenario: "only failed", Coverage: cov("1", seen, seen)}})
	assert.Equal(t, []int{0, 0, 3}, []int{only[0].Asserted, only[0].Observed, only[0].Missing},
		"a flow whose scenarios all failed is listed with nothing credited")
}

// A step Rehearse does not reproduce is missing with the play's reason.
func TestCoverageNamesWhyAStepIsNotReproduced(t *testing.T) {
	var label, why string
	for l, w := range sequence.Plays[4].NotReproduced {
		label, why = l, w
	}
	require.NotEmpty(t, label, "flow 4's periodic check is not reproduced")
	c := &sequence.Coverage{Flow: 4, Title: "Self-Heal", Total: 1, Steps: []sequence.StepResult{{Step: sequence.Step{Label: label}}}}
	c.Assert(nil)
	got := Coverage([]ScenarioOutcome{{Scenario: "s", Passed: true, Coverage: c}})
	assert.Equal(t, "not reproduced: "+why, got[0].Steps[0].Reason)
}

// A report CI cannot trust fails the run: CheckFiles names the file
// and what is wrong with it.
func TestCheckFilesFindsBrokenReportFiles(t *testing.T) {
	run, err := NewRun(t.TempDir(), time.Now())
	require.NoError(t, err)
	goodJUnit := `<testsuites name="rehearse" tests="1"><testsuite name="f" tests="1" failures="0" errors="0" time="1"><testcase name="s" status="passed" time="1"></testcase></testsuite></testsuites>`
	goodCucumber := `[{"uri":"f.feature","elements":[{"type":"scenario","name":"s","line":2,"steps":[{"name":"x","line":3,"result":{"status":"passed"}}]}]}]`
	write := func(junit, cucumber string) {
		require.NoError(t, os.WriteFile(run.JUnitXML(), []byte(junit), 0o644))
		require.NoError(t, os.WriteFile(run.CucumberJSON(), []byte(cucumber), 0o644))
	}
	write(goodJUnit, goodCucumber)
	assert.Empty(t, run.CheckFiles(1))

	problems := run.CheckFiles(2)
	require.Len(t, problems, 2)
	assert.Contains(t, problems[0], "junit.xml: 1 scenarios, but the run played 2")
	assert.Contains(t, problems[1], "cucumber.json: 1 scenarios, but the run played 2")

	write(`<testsuites name="rehearse" tests="1"><testsuite name="f" tests="1" failures="0" errors="0" time="1"><testcase name="s" time="1"><failure message="m"></failure></testcase></testsuite></testsuites>`, goodCucumber)
	problems = run.CheckFiles(1)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], "failures=0 and errors=0 but 1 testcases failed or erred")

	write(goodJUnit, `[{"uri":"f.feature","elements":[`)
	problems = run.CheckFiles(1)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], "cucumber.json: unexpected end of JSON input")

	require.NoError(t, os.Remove(run.JUnitXML()))
	problems = run.CheckFiles(1)
	assert.Contains(t, problems[0], "junit.xml: no such file")
}
