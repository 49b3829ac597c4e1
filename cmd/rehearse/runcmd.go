package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rehearse/rehearse/clusters/kind"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/reports"
	"github.com/rehearse/rehearse/steps"
)

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runCmd(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	tags := fs.String("tags", "", "tag expression selecting scenarios, e.g. @flow-2")
	backend := fs.String("backend", "kwok", "cluster backend: kwok, kind or existing")
	argocd := fs.String("argocd-version", engine.DefaultArgoCDVersion, "Argo CD version to run (v3.2.11 or v3.6.1)")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig for --backend existing (default $KUBECONFIG)")
	kubeContext := fs.String("context", "", "kubeconfig context for --backend existing")
	nodeImage := fs.String("node-image", "", "node image for --backend kind, present locally (default "+kind.DefaultNodeImage+")")
	reportRoot := fs.String("reports", "reports", "directory for run reports (a run writes <dir>/<run-id>/ and <dir>/latest)")
	format := fs.String("format", "pretty", "terminal output: pretty, progress or junit")
	scale := fs.Float64("time-scale", 60, "how many times faster than the seed's clock to run (1 = real time)")
	parallel := parallelFlag(fs)
	keep := fs.Bool("keep-on-failure", false, "after the first failed scenario, keep its environment, print how to reach it and wait for Ctrl-C")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the rehearse process itself (Git server, registry, users, Prometheus, step code) to this file, for go tool pprof")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rehearse run [flags] [feature files or directories...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"features"}
	}
	logger := log.New(os.Stderr, "rehearse: ", log.Ltime)
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rehearse run:", err)
			return 2
		}
		defer stop()
	}
	summary, err := runOnce(ctx, runSettings{Paths: paths, Tags: *tags, ReportRoot: *reportRoot, Format: *format, KeepOnFailure: *keep, Parallel: *parallel,
		Env: steps.EnvOptions{Backend: *backend, ArgoCDVersion: *argocd, Kubeconfig: *kubeconfig, Context: *kubeContext, NodeImage: *nodeImage,
			TimeScale: *scale, Log: logger}}, logger)
	if err != nil || !summary.Succeeded() {
		return 1
	}
	return 0
}

// startCPUProfile profiles the rehearse process until stop is called. The
// stack's other processes (API server, Argo CD) have their own profiling
// endpoints; this one shows what the harness itself costs a run.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "rehearse run: --cpu-profile:", err)
		}
	}, nil
}

// parallelFlag is --parallel, defaulting to $REHEARSE_PARALLEL (what
// make sets from PARALLEL), else to what the machine takes.
func parallelFlag(fs *flag.FlagSet) *int {
	def := 0
	if v, err := strconv.Atoi(os.Getenv("REHEARSE_PARALLEL")); err == nil && v > 0 {
		def = v
	}
	return fs.Int("parallel", def, fmt.Sprintf("scenarios run at once, each in a lane with its own cluster, Argo CD and registry "+
		"(at most %d; 0: one per CPU as memory allows, %d here)", steps.MaxParallel, steps.DefaultParallel()))
}

// runSettings are one run's inputs.
type runSettings struct {
	Paths      []string
	Tags       string
	ReportRoot string
	Format     string
	Env        steps.EnvOptions
	// KeepOnFailure and Parallel: see steps.RunOptions.
	KeepOnFailure bool
	Parallel      int
}

// runOnce runs the features once and writes the run's report directory.
// err is set when no scenario could run; failed scenarios are counted in
// the summary.
func runOnce(ctx context.Context, rs runSettings, logger *log.Logger) (reports.Summary, error) {
	run, err := reports.NewRun(rs.ReportRoot, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse run:", err)
		return reports.Summary{}, err
	}
	started := time.Now()
	backend, argocd, scale := rs.Env.Backend, rs.Env.ArgoCDVersion, rs.Env.TimeScale
	res, err := steps.Run(ctx, steps.RunOptions{
		Paths: rs.Paths, Tags: rs.Tags, KeepOnFailure: rs.KeepOnFailure, Parallel: rs.Parallel,
		Env:     rs.Env,
		Formats: append([]string{rs.Format}, run.Formats()...),
		Output:  os.Stdout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse run:", err)
		failed := reports.Summary{Started: started, WallSeconds: time.Since(started).Seconds(), Backend: backend,
			ArgoCDVersion: argocd, TimeScale: scale, Error: err.Error()}
		if werr := run.WriteSummary(failed); werr != nil {
			logger.Printf("writing summary: %v", werr)
		}
		if werr := run.WriteHTML(failed); werr != nil {
			logger.Printf("writing index.html: %v", werr)
		}
		fmt.Println("0 passed, 0 failed")
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
	summary.Coverage = reports.Coverage(summary.Scenarios)
	for _, c := range summary.Coverage {
		missing := ""
		if len(c.Missing) > 0 {
			missing = "; not observed: " + strings.Join(c.Missing, ", ")
		}
		logger.Printf("flow %d (%s): %d of %d seed steps observed%s", c.Flow, c.Title, c.Observed, c.Total, missing)
	}
	if err := run.WriteSummary(summary); err != nil {
		logger.Printf("writing summary: %v", err)
	}
	if err := run.WriteHTML(summary); err != nil {
		logger.Printf("writing index.html: %v", err)
	}
	// Credentials must never reach a report or a component's log: a leak
	// fails the run, naming the file and which credential, not its value.
	leaks, err := steps.FindSecrets(run.Dir, res.Secrets)
	if err != nil {
		logger.Printf("scanning the report for credentials: %v", err)
	}
	if leaks = append(leaks, res.Leaks...); len(leaks) > 0 {
		logger.Printf("credentials found in the report or logs (the run fails):\n  %s", strings.Join(leaks, "\n  "))
		summary.Failed++
	}
	printLaneTables(logger.Writer(), summary.LaneStats)
	logger.Printf("report: %s (wall %s on %d lane(s))", run.Dir, time.Since(started).Round(time.Millisecond), res.Lanes)
	for _, e := range summary.ReportErrors {
		logger.Printf("the report is broken, so the run fails: %s", e)
	}
	for _, p := range summary.StackProblems {
		logger.Printf("the run fails: %s", p)
	}
	fmt.Printf("%d passed, %d failed\n", res.Passed, res.Failed)
	summary.RunID = run.ID
	if res.Status != 0 && res.Failed == 0 {
		summary.Failed = 1 // godog failed outside any scenario
	}
	return summary, nil
}

// printLaneTables prints each lane's start-up times and peak memory by
// component as aligned tables.
func printLaneTables(w io.Writer, lanes []reports.LaneStats) {
	if len(lanes) == 0 {
		return
	}
	_ = reports.WriteTable(w, reports.StartupRows(lanes))
	_ = reports.WriteTable(w, reports.MemoryRows(lanes))
}
