package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/rehearse/rehearse"
	"github.com/rehearse/rehearse/clusters/kind"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/reports"
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
	tags := fs.String("tags", "", "Cucumber tag expression selecting scenarios, e.g. @flow-2 or \"(@flow-6 or @flow-7) and not @slow\"")
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
	// Flags left unset leave the choice to the project's rehearse.yaml (and
	// then to the defaults shown above); no path runs its features.
	paths := fs.Args()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["backend"] {
		*backend = ""
	}
	if !set["argocd-version"] {
		*argocd = ""
	}
	if !set["time-scale"] {
		*scale = 0
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
		Env: lane.Options{Backend: *backend, ArgoCDVersion: *argocd, Kubeconfig: *kubeconfig, Context: *kubeContext, NodeImage: *nodeImage,
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
		"(at most %d; 0: one per CPU as memory allows, %d here)", lane.MaxParallel, lane.DefaultParallel()))
}

// runSettings are one run's inputs.
type runSettings struct {
	Paths      []string
	Tags       string
	ReportRoot string
	Format     string
	Env        lane.Options
	// KeepOnFailure and Parallel: see steps.RunOptions.
	KeepOnFailure bool
	Parallel      int
}

// runOnce runs the features once and writes the run's report directory
// (rehearse.Run). err is set when no scenario could run; failed scenarios
// are counted in the summary.
func runOnce(ctx context.Context, rs runSettings, logger *log.Logger) (reports.Summary, error) {
	opts := []rehearse.Option{rehearse.WithFeatures(rs.Paths...), rehearse.WithTags(rs.Tags), rehearse.WithReportRoot(rs.ReportRoot),
		rehearse.WithFormat(rs.Format), rehearse.WithEnv(rs.Env), rehearse.WithLanes(rs.Parallel), rehearse.WithLogger(logger)}
	if rs.KeepOnFailure {
		opts = append(opts, rehearse.WithKeepOnFailure())
	}
	summary, err := rehearse.Run(ctx, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse run:", err)
	}
	return summary, err
}
