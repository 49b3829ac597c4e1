package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/engine/lane"
)

// soakCmd runs the suite N times back to back, each run with a fresh
// environment and its own report, and lists every failed scenario with its
// run, so a flake shows up with the report that explains it.
func soakCmd(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	runs := fs.Int("runs", 20, "how many runs")
	tags := fs.String("tags", "", "tag expression selecting scenarios")
	argocd := fs.String("argocd-version", engine.DefaultArgoCDVersion, "Argo CD version")
	reportRoot := fs.String("reports", "reports", "directory for run reports")
	format := fs.String("format", "progress", "terminal output: pretty, progress or junit")
	scale := fs.Float64("time-scale", 60, "time compression")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rehearse soak [flags] [feature files or directories...]")
		fs.PrintDefaults()
	}
	parallel := parallelFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "rehearse soak: --runs must be at least 1")
		return 2
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"features"}
	}
	logger := log.New(os.Stderr, "rehearse: ", log.Ltime)
	var failures []string
	scenarios := 0
	start := time.Now()
	for i := 1; i <= *runs && ctx.Err() == nil; i++ {
		logger.Printf("soak: run %d of %d", i, *runs)
		summary, err := runOnce(ctx, runSettings{Paths: paths, Tags: *tags, ReportRoot: *reportRoot, Format: *format, Parallel: *parallel,
			Env: lane.Options{ArgoCDVersion: *argocd, TimeScale: *scale, Log: logger}}, logger)
		if err != nil {
			failures = append(failures, fmt.Sprintf("run %d (%s): %v", i, summary.RunID, err))
			continue
		}
		scenarios += summary.Passed + summary.Failed
		before := len(failures)
		for _, s := range summary.Scenarios {
			if !s.Passed {
				failures = append(failures, fmt.Sprintf("run %d (report %s): %s: %s: %s", i, summary.RunID, s.Feature, s.Scenario, firstLine(s.Error)))
			}
		}
		for _, e := range summary.ReportErrors {
			failures = append(failures, fmt.Sprintf("run %d (report %s): broken report: %s", i, summary.RunID, e))
		}
		for _, p := range summary.StackProblems {
			failures = append(failures, fmt.Sprintf("run %d (report %s): %s", i, summary.RunID, p))
		}
		if summary.Failed > 0 && len(failures) == before {
			failures = append(failures, fmt.Sprintf("run %d (report %s): failed outside any scenario", i, summary.RunID))
		}
	}
	fmt.Printf("soak: %d runs, %d scenarios, %d failures in %s\n", *runs, scenarios, len(failures), time.Since(start).Round(time.Second))
	if len(failures) > 0 {
		fmt.Println("  " + strings.Join(failures, "\n  "))
		return 1
	}
	if ctx.Err() != nil {
		return 1
	}
	return 0
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
