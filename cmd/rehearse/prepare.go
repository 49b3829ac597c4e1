package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/rehearse/rehearse/clusters/kwok"
	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/fixtures/gitserver"
	"github.com/rehearse/rehearse/internal/binaries"
)

func prepareCmd(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("prepare", flag.ContinueOnError)
	versions := fs.String("argocd-versions", engine.DefaultArgoCDVersion, "comma-separated Argo CD versions to build")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := log.New(os.Stderr, "rehearse: ", log.Ltime)
	// Say what the machine lacks before half an hour of builds, not after.
	if _, err := gitserver.GitExecPath(); err != nil {
		fmt.Fprintln(os.Stderr, "rehearse prepare:", err)
		return 1
	}
	root, err := binaries.DefaultRoot()
	if err != nil {
		logger.Print(err)
		return 1
	}
	cache := &binaries.Cache{Root: root, Log: logger}
	p, err := kwok.New(kwok.WithCache(cache), kwok.WithLogger(logger))
	if err == nil {
		err = p.Prepare(ctx)
	}
	for _, v := range splitList(*versions) {
		if err != nil {
			break
		}
		err = engine.Prepare(ctx, engine.WithVersion(v), engine.WithCache(cache), engine.WithLogger(logger))
	}
	for _, r := range lane.FixtureRecipes() {
		if err != nil {
			break
		}
		_, err = cache.Ensure(ctx, r)
	}
	if err == nil {
		_, err = podruntime.BuildHelper(ctx, cache)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse prepare:", err)
		return 1
	}
	logger.Printf("all binaries ready under %s", root)
	reportBuildTimes(logger, cache)
	return 0
}

// reportBuildTimes prints what each cached recipe's first build cost, as
// recorded when it happened: a fresh machine (CI) pays all of it again.
func reportBuildTimes(logger *log.Logger, cache *binaries.Cache) {
	recipes, err := cache.BuildTimes()
	if err != nil {
		logger.Printf("first build times: %v", err)
		return
	}
	var total time.Duration
	logger.Printf("first build of each binary, as recorded when it was built:")
	for _, r := range recipes {
		if len(r.Steps) == 0 {
			logger.Printf("  %-24s not recorded (built before Rehearse kept build times)", r.Recipe)
			continue
		}
		var parts []string
		for _, s := range r.Steps {
			parts = append(parts, fmt.Sprintf("%s %s", s.Step, s.Duration.Round(time.Second)))
		}
		last := r.Steps[len(r.Steps)-1]
		logger.Printf("  %-24s %7s  (%s; %d cores, %s)", r.Recipe, r.Total().Round(time.Second), strings.Join(parts, ", "),
			last.Cores, last.Finished.Format("2006-01-02"))
		total += r.Total()
	}
	if total > 0 {
		logger.Printf("  %-24s %7s", "recorded, in all", total.Round(time.Second))
	}
}
