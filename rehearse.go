package rehearse

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/reports"
	"github.com/rehearse/rehearse/reports/sequence"
	"github.com/rehearse/rehearse/steps"
)

// Scenario is what a user's step sees of its scenario.
type Scenario = steps.Scenario

// Summary is a run's outcome, as written to the report's summary.json.
type Summary = reports.Summary

// settings are a run's inputs; Options set them.
type settings struct {
	paths, userPaths []string
	projectDir       string
	tags             string
	reportRoot       string
	format           string
	env              lane.Options
	parallel         int
	keepOnFailure    bool
	userSteps        []steps.UserStep
	out              io.Writer
	log              *log.Logger
	t                *testing.T
}

// Option sets one of a run's inputs.
type Option func(*settings)

// WithFeatures runs these feature files or directories (default: the
// project's rehearse.yaml features, else features).
func WithFeatures(paths ...string) Option { return func(s *settings) { s.paths = paths } }

// WithProjectDir is where relative paths of scenarios (folders, files) are
// looked for after the feature file's directory (default: the working
// directory).
func WithProjectDir(dir string) Option { return func(s *settings) { s.projectDir = dir } }

// WithTags selects scenarios by a Cucumber tag expression ("@smoke and not
// (@slow or @flaky)"; godog's "@smoke && ~@slow" is read too).
func WithTags(expr string) Option { return func(s *settings) { s.tags = expr } }

// WithReportRoot is where the run's report directory is made (default:
// reports; the newest is linked as reports/latest).
func WithReportRoot(dir string) Option { return func(s *settings) { s.reportRoot = dir } }

// WithFormat is the terminal's format: pretty (default) or progress.
func WithFormat(f string) Option { return func(s *settings) { s.format = f } }

// WithBackend chooses the clusters: kwok (default), kind or existing.
func WithBackend(b string) Option { return func(s *settings) { s.env.Backend = b } }

// WithArgoCDVersion chooses the Argo CD line (default: the 3.2 line).
func WithArgoCDVersion(v string) Option { return func(s *settings) { s.env.ArgoCDVersion = v } }

// WithTimeScale runs that many times faster than the seed's clock (default:
// rehearse.yaml's timeScale, else 60).
func WithTimeScale(x float64) Option { return func(s *settings) { s.env.TimeScale = x } }

// WithLanes is how many scenarios run at once, each with its own cluster
// and Argo CD (0: what the machine takes).
func WithLanes(n int) Option { return func(s *settings) { s.parallel = n } }

// WithEnv sets every stack option at once (backend, kubeconfig, ...).
func WithEnv(env lane.Options) Option { return func(s *settings) { s.env = env } }

// WithKeepOnFailure pauses at the first failed scenario, prints how to
// reach its environment and waits until ctx ends.
func WithKeepOnFailure() Option { return func(s *settings) { s.keepOnFailure = true } }

// WithStep adds the user's own step (see the package documentation for
// fn's form); a feature step it matches with a built-in one is refused as
// ambiguous before the run starts.
func WithStep(pattern, doc string, fn any) Option {
	return func(s *settings) {
		s.userSteps = append(s.userSteps, steps.UserStep{Pattern: pattern, Doc: doc, Fn: fn})
	}
}

// WithOutput receives the scenarios' progress and the closing lines
// (default: standard output).
func WithOutput(w io.Writer) Option { return func(s *settings) { s.out = w } }

// WithLogger receives the stack's progress lines (default: standard error).
func WithLogger(l *log.Logger) Option { return func(s *settings) { s.log = l } }

// WithTesting runs each scenario as a subtest of t.
func WithTesting(t *testing.T) Option { return func(s *settings) { s.t = t } }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Run runs the features and writes the run's report. err is set when no
// scenario could run (an unknown step, a malformed feature file, a backend
// that cannot run here); failed scenarios are counted in the summary, and
// a broken report or a problem of the stack counts as a failure too.
func Run(ctx context.Context, opts ...Option) (Summary, error) {
	s := settings{reportRoot: "reports", format: "pretty", out: os.Stdout}
	for _, o := range opts {
		o(&s)
	}
	// The project's rehearse.yaml fills in what the options leave unset.
	project, err := steps.ReadProject(orDefault(s.projectDir, "."))
	if err != nil {
		return reports.Summary{}, err
	}
	if project != nil {
		if len(s.paths) == 0 && len(project.Features) > 0 {
			s.paths = project.Features
			for i, p := range s.paths {
				if s.projectDir != "" && !filepath.IsAbs(p) {
					s.paths[i] = filepath.Join(s.projectDir, p)
				}
			}
		}
		if s.env.TimeScale == 0 {
			s.env.TimeScale = project.TimeScale
		}
		if s.env.ArgoCDVersion == "" {
			s.env.ArgoCDVersion = project.ArgoCDVersion
		}
		if s.env.Backend == "" {
			s.env.Backend = project.Backend
		}
	}
	if len(s.paths) == 0 {
		s.paths = []string{filepath.Join(orDefault(s.projectDir, "."), "features")}
	}
	if s.env.TimeScale == 0 {
		s.env.TimeScale = 60
	}
	s.env.Backend = orDefault(s.env.Backend, "kwok")
	if s.log == nil {
		s.log = log.New(os.Stderr, "rehearse: ", log.Ltime)
	}
	if s.env.Log == nil {
		s.env.Log = s.log
	}
	logger := s.log
	run, err := reports.NewRun(s.reportRoot, time.Now())
	if err != nil {
		return reports.Summary{}, err
	}
	started := time.Now()
	backend, argocd, scale := s.env.Backend, s.env.ArgoCDVersion, s.env.TimeScale
	res, err := steps.Run(ctx, steps.RunOptions{
		Paths: s.paths, ProjectDir: s.projectDir, Tags: s.tags, KeepOnFailure: s.keepOnFailure, Parallel: s.parallel,
		Env: s.env, UserSteps: s.userSteps, T: s.t, Project: project,
		Formats: append([]string{s.format}, run.Formats()...),
		Output:  s.out,
	})
	if err != nil {
		failed := reports.Summary{Started: started, WallSeconds: time.Since(started).Seconds(), Backend: backend,
			ArgoCDVersion: argocd, TimeScale: scale, Error: err.Error()}
		if werr := run.WriteSummary(failed); werr != nil {
			logger.Printf("writing summary: %v", werr)
		}
		if werr := run.WriteHTML(failed); werr != nil {
			logger.Printf("writing index.html: %v", werr)
		}
		fmt.Fprintln(s.out, "0 passed, 0 failed")
		return failed, err
	}
	summary := reports.Summary{Started: started, WallSeconds: time.Since(started).Seconds(), Backend: backend,
		ArgoCDVersion: res.ArgoCDVersion, Passed: res.Passed, Failed: res.Failed, Lanes: res.Lanes, LaneStats: res.LaneStats}
	summary.PeakRSSMB = float64(res.PeakRSS) / (1 << 20)
	summary.TimeScale = res.TimeScale
	for _, r := range res.Rewrites {
		summary.Rewrites = append(summary.Rewrites, reports.DurationRewrite{Where: r.Where, Seed: r.Seed, Real: r.Real, Rounding: r.Rounding})
	}
	for _, o := range res.Outcomes {
		so := reports.ScenarioOutcome{Feature: o.Feature, Scenario: o.Scenario, Passed: o.Err == nil, Seconds: o.Duration.Seconds(), Notes: o.Notes,
			Flow: o.Flow, Coverage: o.Coverage, Events: len(o.Events)}
		if len(o.Diagram.Participants) > 0 {
			so.Mermaid, so.SVG = o.Diagram.Mermaid(), o.Diagram.SVG()
		}
		if o.Err != nil {
			so.Error = o.Err.Error()
		}
		if o.Strategy != nil {
			summary.Strategies = append(summary.Strategies, *o.Strategy)
		}
		summary.Scenarios = append(summary.Scenarios, so)
	}
	if err := run.WriteJUnit(); err != nil {
		summary.ReportErrors = append(summary.ReportErrors, err.Error())
	}
	summary.ReportErrors = append(summary.ReportErrors, run.CheckFiles(res.Passed+res.Failed)...)
	summary.StackProblems = res.Problems
	sort.SliceStable(summary.Strategies, func(i, j int) bool { return summary.Strategies[i].Order < summary.Strategies[j].Order })
	summary.RollbackDisagreements = reports.RollbackOrder(summary.Strategies)
	if len(summary.Strategies) > 1 && len(summary.RollbackDisagreements) == 0 {
		logger.Printf("strategy table: the measured rollbacks keep the seed's order of rollback speeds")
	}
	for _, d := range summary.RollbackDisagreements {
		logger.Printf("strategy table: %s", d)
	}
	summary.Coverage = reports.Coverage(summary.Scenarios)
	for _, c := range summary.Coverage {
		logger.Print(c.Line())
		var observed []string
		for _, st := range c.Steps {
			switch st.Verdict {
			case sequence.Observed:
				observed = append(observed, st.Number)
			case sequence.Missing:
				logger.Printf("  step %s missing: %s", st.Number, st.Reason)
			}
		}
		if len(observed) > 0 {
			logger.Printf("  observed in the record, not asserted: %s", strings.Join(observed, ", "))
		}
	}
	if err := run.WriteSummary(summary); err != nil {
		logger.Printf("writing summary: %v", err)
	}
	if err := run.WriteHTML(summary); err != nil {
		logger.Printf("writing index.html: %v", err)
	}
	// Credentials must never reach a report or a component's log: a leak
	// fails the run, naming the file and which credential, not its value.
	leaks, err := lane.FindSecrets(run.Dir, res.Secrets)
	if err != nil {
		logger.Printf("scanning the report for credentials: %v", err)
	}
	if leaks = append(leaks, res.Leaks...); len(leaks) > 0 {
		logger.Printf("credentials found in the report or logs (the run fails):\n  %s", strings.Join(leaks, "\n  "))
		summary.Failed++
	}
	if len(summary.LaneStats) > 0 {
		_ = reports.WriteTable(logger.Writer(), reports.StartupRows(summary.LaneStats))
		_ = reports.WriteTable(logger.Writer(), reports.MemoryRows(summary.LaneStats))
	}
	logger.Printf("report: %s (wall %s on %d lane(s))", run.Dir, time.Since(started).Round(time.Millisecond), res.Lanes)
	for _, e := range summary.ReportErrors {
		logger.Printf("the report is broken, so the run fails: %s", e)
	}
	for _, p := range summary.StackProblems {
		logger.Printf("the run fails: %s", p)
	}
	fmt.Fprintf(s.out, "%d passed, %d failed\n", res.Passed, res.Failed)
	summary.RunID = run.ID
	if res.Status != 0 && res.Failed == 0 {
		summary.Failed = 1 // godog failed outside any scenario
	}
	return summary, nil
}
