package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/internal/timescale"
	"github.com/rehearse/rehearse/reports"
	"github.com/rehearse/rehearse/reports/sequence"
)

// RunOptions select features and where results go.
type RunOptions struct {
	Paths []string // feature files or directories
	// Project is the project's rehearse.yaml (ReadProject), if it has one:
	// what every scenario starts with.
	Project *Project
	// UserSteps are the user's own step definitions, beside the built-in
	// ones (see UserStep).
	UserSteps []UserStep
	// ProjectDir is where a scenario's relative paths (folders, files) are
	// looked for when they are not beside the feature file: the user's
	// project root. Default: the working directory.
	ProjectDir string
	Tags       string // godog tag expression, e.g. "@flow-2 && ~@slow"
	Env        lane.Options
	Formats    []string // godog formatter specs: "pretty", "cucumber:path", "junit:path"
	Output     io.Writer
	// T runs each scenario as a Go subtest when the suite runs under go test.
	T *testing.T
	// Parallel is how many scenarios run at once, each in its own lane: a
	// cluster, an Argo CD and a registry of its own (scenarios of one lane
	// run one after the other). 0: lane.DefaultParallel.
	Parallel int
	// KeepOnFailure pauses the run after the first failed scenario, before
	// its cleanup, prints how to reach its environment (cluster, Argo CD,
	// Git server, registry) and waits until ctx ends (Ctrl-C).
	KeepOnFailure bool
}

// Outcome is one scenario's result.
type Outcome struct {
	Feature, Scenario string
	Err               error
	Duration          time.Duration
	// Notes are measurements the scenario's steps made (pipeline stage
	// timings, rollout timelines), for the report.
	Notes []string
	// Flow is the seed flow of the scenario's feature (@flow-N), 0 if none.
	Flow int
	// Events are the interactions observed, in time order; Diagram draws
	// them with the flow's participants and Coverage scores them against
	// the flow's numbered seed steps (nil without a seed document).
	Events   []sequence.Event
	Diagram  sequence.Diagram
	Coverage *sequence.Coverage
	// Strategy is the row of the seed's strategy table the scenario
	// measured, if it measured one.
	Strategy *reports.StrategyRow
}

// Result summarises a run.
type Result struct {
	Passed, Failed int
	Outcomes       []Outcome
	// LaneStats: each lane's start-up times and peak memory by component.
	LaneStats     []reports.LaneStats
	PeakRSS       uint64 // bytes, the sum of the lanes' peaks
	TimeScale     float64
	Rewrites      []timescale.Rewrite // every duration the time scale changed
	ArgoCDVersion string
	Lanes         int // scenarios run at once
	Status        int // godog's exit status
	// Secrets are the credentials the run used, for leak checks of its
	// reports; Leaks names the component logs (Argo CD, Argo Rollouts,
	// the cluster's) that contained one ("file: which credential").
	Secrets []lane.Secret
	Leaks   []string
	// Problems are failures of the stack's fidelity found as lanes closed
	// (Argo CD's embedded cache refusing a command a real Redis serves).
	Problems []string
}

// Run executes the selected features against one shared Environment and
// returns per-scenario outcomes.
func Run(ctx context.Context, opts RunOptions) (*Result, error) {
	if len(opts.Paths) == 0 {
		opts.Paths = []string{"features"}
	}
	for _, p := range opts.Paths {
		p, _ = featureFile(p)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("feature path %s: %w", p, err)
		}
	}
	// Unknown steps fail before anything starts, with file, line and the
	// closest known patterns (godog alone would only print snippets).
	if err := checkSteps(opts.Paths, opts.UserSteps); err != nil {
		return nil, err
	}
	// So do claims that a Then step asserts a seed step which the report
	// could not hold (see sequence.ParseClaims).
	seeds := &seedDocs{byDir: map[string][]sequence.Flow{}}
	claims, err := readClaims(opts.Paths, seeds)
	if err != nil {
		return nil, err
	}
	// A backend that cannot run here (kind without an engine that runs
	// privileged containers) says why once, before any scenario fails on it.
	if err := lane.BackendAvailable(ctx, opts.Env); err != nil {
		return nil, err
	}
	tags, err := godogTags(opts.Tags)
	if err != nil {
		return nil, err
	}
	if opts.Output == nil {
		opts.Output = os.Stdout
	}
	if len(opts.Formats) == 0 {
		opts.Formats = []string{"pretty"}
	}
	pool, err := lane.NewPool(opts.Env, opts.Parallel)
	if err != nil {
		return nil, err
	}
	lanes := pool.Lanes()
	// Read once: the warm-up and the destination clusters' count both
	// follow the scenarios the run will play.
	scenarios := selectedScenarios(opts.Paths, tags)
	// Fixture images build in the background from the start; the lanes
	// share them. A build cut short removes its temporary directory
	// before Run returns.
	pool.Warm(ctx, imagesToBuild(scenarios, orDefault(opts.ProjectDir, ".")))
	defer pool.StopWarming()
	demand := newClusterDemand(scenarios)
	res := &Result{ArgoCDVersion: lanes[0].Options().ArgoCDVersion, Lanes: len(lanes)}
	var mu sync.Mutex
	seq := 0
	starts := map[string]time.Time{}

	suite := godog.TestSuite{
		Name: "rehearse",
		TestSuiteInitializer: func(tsc *godog.TestSuiteContext) {
			tsc.AfterSuite(func() {
				start := time.Now()
				mu.Lock()
				scenarioSecrets := slices.Clone(res.Secrets)
				mu.Unlock()
				t := pool.Close(scenarioSecrets)
				mu.Lock()
				res.Secrets, res.Leaks, res.Problems = t.Secrets, append(res.Leaks, t.Leaks...), append(res.Problems, t.Problems...)
				mu.Unlock()
				if opts.Env.Log != nil {
					opts.Env.Log.Printf("%d lane(s) torn down in %s", len(lanes), time.Since(start).Round(time.Millisecond))
				}
			})
		},
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			mu.Lock()
			seq++
			id := fmt.Sprintf("s%d-%d", seq, time.Now().UnixNano()%100000)
			mu.Unlock()
			w := newWorld(nil, "", id)
			w.register(sc)
			for _, u := range opts.UserSteps {
				sc.Step(u.Pattern, u.bind(w))
			}
			sc.Before(func(sctx context.Context, s *godog.Scenario) (context.Context, error) {
				// godog runs at most as many scenarios at once as there
				// are lanes, so one is free.
				env, err := pool.Take(ctx)
				if err != nil {
					return sctx, err
				}
				w.env = env
				ctx := sctx
				w.scenario = s.Name
				w.started = time.Now()
				w.featureDir = filepath.Dir(s.Uri)
				w.projectDir = orDefault(opts.ProjectDir, ".")
				mu.Lock()
				starts[s.Id] = time.Now()
				mu.Unlock()
				return ctx, opts.Project.setUp(ctx, w)
			})
			sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
				if w.env == nil {
					return ctx, err // no step ran: no lane was taken
				}
				if err != nil && opts.KeepOnFailure {
					fmt.Fprintf(os.Stderr, "\nscenario %q failed: %v\nkeeping its environment until Ctrl-C:\n", s.Name, err)
					describe(os.Stderr, w.env, w)
					<-ctx.Done()
				}
				events := w.collectEvents()
				mu.Lock()
				res.Secrets = append(res.Secrets, w.credentials()...)
				mu.Unlock()
				flow := sequence.FlowOfTags(tagNames(s.Tags))
				cleanupErr := w.cleanup(context.WithoutCancel(ctx))
				// Each lane, when it next becomes free, stops destination
				// clusters that no scenario still to run will register.
				if demand.finished(s) {
					if err := w.env.ReleaseDestinationClusters(context.WithoutCancel(ctx)); err != nil && opts.Env.Log != nil {
						opts.Env.Log.Printf("releasing destination clusters: %v", err)
					}
				}
				pool.Give(w.env)
				if err == nil {
					err = cleanupErr
				}
				mu.Lock()
				defer mu.Unlock()
				o := Outcome{Feature: featureName(s.Uri), Scenario: s.Name, Err: err, Duration: time.Since(starts[s.Id]), Notes: w.notes,
					Flow: flow, Events: events, Strategy: w.strategy}
				if f, ok := seeds.flow(filepath.Dir(s.Uri), flow); ok {
					play := sequence.Plays[flow]
					o.Diagram = sequence.Build(f, play.Cast, events)
					cov := sequence.Cover(f, play.Cast, play.Rules, events)
					if err == nil {
						// A passing scenario's Then steps all held.
						cov.Assert(claims.of(s))
					}
					o.Coverage = &cov
				}
				res.Outcomes = append(res.Outcomes, o)
				if err != nil {
					res.Failed++
				} else {
					res.Passed++
				}
				return ctx, cleanupErr
			})
		},
		Options: &godog.Options{
			Format:         strings.Join(opts.Formats, ","),
			Paths:          opts.Paths,
			Tags:           tags,
			Strict:         true,
			Output:         opts.Output,
			TestingT:       opts.T,
			DefaultContext: ctx,
			NoColors:       os.Getenv("CI") != "" || os.Getenv("NO_COLOR") != "",
			Concurrency:    len(lanes),
		},
	}
	res.Status = suite.Run()
	pool.StopWarming()
	res.LaneStats, res.PeakRSS, res.Rewrites = lane.RunStats(lanes)
	res.TimeScale = lanes[0].Scale().Factor()
	if res.Status == 0 && res.Passed+res.Failed == 0 {
		return res, fmt.Errorf("no scenario matched %v (tags %q)", opts.Paths, opts.Tags)
	}
	if res.Status != 0 && res.Passed+res.Failed == 0 {
		return res, fmt.Errorf("godog exited with status %d before running any scenario (see the output above: a malformed feature file or bad tag expression)", res.Status)
	}
	return res, nil
}

func featureName(uri string) string {
	if i := strings.LastIndex(uri, "/"); i >= 0 {
		return uri[i+1:]
	}
	return uri
}

// SeedDocument is where a features directory keeps the seed's flows.
const SeedDocument = "seed/gitops-flows.md"

// seedDocs reads each features directory's seed document once.
type seedDocs struct {
	mu    sync.Mutex
	byDir map[string][]sequence.Flow
}

func (d *seedDocs) flow(dir string, number int) (sequence.Flow, bool) {
	if number == 0 {
		return sequence.Flow{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	flows, ok := d.byDir[dir]
	if !ok {
		if raw, err := os.ReadFile(filepath.Join(dir, SeedDocument)); err == nil {
			if flows, err = sequence.ParseSeed(raw); err != nil {
				fmt.Fprintf(os.Stderr, "rehearse: %s: %v\n", filepath.Join(dir, SeedDocument), err)
			}
		}
		d.byDir[dir] = flows
	}
	for _, f := range flows {
		if f.Number == number {
			return f, true
		}
	}
	return sequence.Flow{}, false
}

func tagNames(tags []*messages.PickleTag) []string {
	var out []string
	for _, t := range tags {
		out = append(out, t.Name)
	}
	return out
}

// featureClaims are the seed-step claims of a run's feature files, by
// absolute path.
type featureClaims map[string]*sequence.FeatureClaims

// readClaims parses the claims of every feature file under paths.
func readClaims(paths []string, seeds *seedDocs) (featureClaims, error) {
	out := featureClaims{}
	var problems []string
	for _, root := range paths {
		root, _ = featureFile(root)
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".feature") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fc, err := sequence.ParseClaims(path, src, func(tags []string) (sequence.Flow, bool) {
				return seeds.flow(filepath.Dir(path), sequence.FlowOfTags(tags))
			})
			var ce *sequence.ClaimError
			if errors.As(err, &ce) {
				problems = append(problems, ce.Problems...)
				return nil
			}
			if err != nil {
				return err
			}
			abs, err := filepath.Abs(path)
			if err != nil {
				return err
			}
			out[abs] = fc
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(problems) > 0 {
		return nil, &sequence.ClaimError{Problems: problems}
	}
	return out, nil
}

// of returns the claims on the steps of a scenario as godog runs it.
func (fc featureClaims) of(s *godog.Scenario) []sequence.Claim {
	abs, err := filepath.Abs(s.Uri)
	if err != nil {
		return nil
	}
	var texts []string
	for _, st := range s.Steps {
		texts = append(texts, st.Text)
	}
	return fc[abs].For(s.Name, texts)
}
