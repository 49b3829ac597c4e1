package examples

import (
	"context"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/reports"
	"github.com/rehearse/rehearse/steps"
)

// TestExamples runs every example project's features, each from its own
// directory, as `rehearse run` would there.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("examples start a cluster and Argo CD; skipped in -short mode")
	}
	projects, err := filepath.Glob("*/features")
	if err != nil || len(projects) == 0 {
		t.Fatalf("no example project (a directory with features/): %v", err)
	}
	for _, features := range projects {
		dir := filepath.Dir(features)
		t.Run(dir, func(t *testing.T) {
			run, err := reports.NewRun(t.TempDir(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			res, err := steps.Run(context.Background(), steps.RunOptions{
				Paths: []string{features}, ProjectDir: dir,
				Formats: append([]string{"progress"}, run.Formats()...),
				// The seed's time scale, as rehearse run's default: Argo CD
				// polls every 3 s instead of 3 minutes.
				Env: lane.Options{TimeScale: 60, Log: log.New(os.Stderr, "rehearse: ", log.Ltime)},
				T:   t,
				// One lane: go test runs this package beside features/,
				// whose lanes already take the machine's cores.
				Parallel: 1,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d passed, %d failed", dir, res.Passed, res.Failed)
			for _, p := range res.Problems {
				t.Error(p)
			}
			if res.Failed > 0 || res.Status != 0 || res.Passed == 0 {
				t.Fail()
			}
		})
	}
}

// Every step of every example exists (checked without starting anything).
func TestExampleStepsExist(t *testing.T) {
	projects, err := filepath.Glob("*/features")
	if err != nil || len(projects) == 0 {
		t.Fatalf("no example project: %v", err)
	}
	if err := steps.CheckSteps(append(projects, "testdata/saved-image/features")); err != nil {
		t.Fatal(err)
	}
}
