package features

import (
	"context"
	"flag"
	"log"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/reports"
	"github.com/rehearse/rehearse/steps"
)

var (
	tags     = flag.String("rehearse.tags", "", "godog tag expression selecting scenarios")
	backend  = flag.String("rehearse.backend", "kwok", "cluster backend: kwok, kind or existing")
	argocd   = flag.String("rehearse.argocd-version", "", "Argo CD version (default: the seed's 3.2 line)")
	scale    = flag.Float64("rehearse.time-scale", 60, "time compression of the seed's intervals")
	parallel = flag.Int("rehearse.parallel", envInt("REHEARSE_PARALLEL", 0), "scenarios run at once, each in its own lane (cluster, Argo CD, registry); 0: what the machine takes")
)

// envInt reads a default from the environment (make passes PARALLEL so):
// go test ./... cannot pass a flag to one package only.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestFeatures runs every feature file in this directory as Go subtests.
func TestFeatures(t *testing.T) {
	if testing.Short() {
		t.Skip("features start a cluster and Argo CD; skipped in -short mode")
	}
	run, err := reports.NewRun(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, err := steps.Run(context.Background(), steps.RunOptions{
		Paths:   []string{"."},
		Tags:    *tags,
		Formats: append([]string{"progress"}, run.Formats()...),
		Env: lane.Options{Backend: *backend, ArgoCDVersion: *argocd, TimeScale: *scale,
			Log: log.New(os.Stderr, "rehearse: ", log.Ltime)},
		T:        t,
		Parallel: *parallel,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d passed, %d failed; lanes %+v", res.Passed, res.Failed, res.LaneStats)
	// The report files read back whole and count what was played.
	if err := run.WriteJUnit(); err != nil {
		t.Error(err)
	}
	for _, p := range run.CheckFiles(res.Passed + res.Failed) {
		t.Error(p)
	}
	for _, p := range res.Problems {
		t.Error(p)
	}
	// No credential of the run in its reports or in the components' logs.
	leaks, err := lane.FindSecrets(run.Dir, res.Secrets)
	if err != nil {
		t.Error(err)
	}
	if leaks = append(leaks, res.Leaks...); len(leaks) > 0 {
		t.Errorf("credentials leaked (%d credentials checked):\n%s", len(res.Secrets), strings.Join(leaks, "\n"))
	}
	if len(res.Secrets) == 0 {
		t.Error("the run reported no credentials to check for leaks")
	}
	if res.Failed > 0 || res.Status != 0 {
		t.Fail()
	}
}
