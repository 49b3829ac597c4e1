package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/reports"
)

// nightlyCmd runs every feature on each Argo CD line, appends each run to
// the history and renders the trend and the version matrix.
func nightlyCmd(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("nightly", flag.ContinueOnError)
	versions := fs.String("argocd-versions", engine.DefaultArgoCDVersion+","+engine.NewestArgoCDVersion, "Argo CD versions, comma-separated")
	reportRoot := fs.String("reports", "reports", "directory for run reports and the history")
	format := fs.String("format", "progress", "terminal output: pretty, progress or junit")
	scale := fs.Float64("time-scale", 60, "time compression")
	last := fs.Int("last", 30, "runs shown in the trend")
	parallel := parallelFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rehearse nightly [flags] [feature files or directories...]")
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
	status := 0
	for _, v := range splitList(*versions) {
		logger.Printf("nightly: Argo CD %s", v)
		summary, err := runOnce(ctx, runSettings{Paths: paths, ReportRoot: *reportRoot, Format: *format, Parallel: *parallel,
			Env: lane.Options{ArgoCDVersion: v, TimeScale: *scale, Log: logger}}, logger)
		if err != nil || !summary.Succeeded() {
			status = 1
		}
		if summary.RunID == "" {
			continue
		}
		if err := reports.AppendHistory(*reportRoot, summary); err != nil {
			logger.Printf("history: %v", err)
			status = 1
		}
		if ctx.Err() != nil {
			return 1
		}
	}
	history, err := reports.ReadHistory(*reportRoot)
	if err != nil {
		logger.Print(err)
		return 1
	}
	page, err := reports.WriteNightly(*reportRoot, history, *last)
	if err != nil {
		logger.Print(err)
		return 1
	}
	logger.Printf("nightly: %s (%d runs in the history)", page, len(history))
	return status
}
