package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rehearse/rehearse/clusters/podwatch"
	"github.com/rehearse/rehearse/fixtures/traffic"
	"github.com/rehearse/rehearse/reports"
)

func (w *World) strategySteps() []StepDef {
	return []StepDef{
		{Pattern: `^the rollout to "([^"]*)" is measured as the "([^"]*)" row of the strategy table$`,
			Doc: "From the last push until now: the users' requests and failures, the longest time without a successful answer, the pods " +
				"before the push and the most that existed at once, and how long until every request reached the version. The row goes to the report, beside the seed's words.",
			Example: `Then the rollout to "v2.0.0" is measured as the "Rolling Update" row of the strategy table`,
			Fn:      w.measureRollout},
		{Pattern: `^the rollback to "([^"]*)" is measured for the strategy table$`,
			Doc:     "Time from the last push (the revert) until every request of the users reached that version again.",
			Example: `Then the rollback to "v1.0.0" is measured for the strategy table`,
			Fn:      w.measureRollback},
		{Pattern: `^the strategy kept (\d+(?:\.\d+)?) to (\d+(?:\.\d+)?) times the steady pod count running at once, terminating pods aside$`,
			Doc: "Asserts the measured row's peak of pods running or starting at once (created, not yet terminating) over the steady " +
				"count: the surge the strategy keeps by design, which draining pods do not blur.",
			Example: `And the strategy kept 1.25 to 1.25 times the steady pod count running at once, terminating pods aside`,
			Fn:      w.strategyKeptRunning},
		{Pattern: `^the strategy table row shows (no|some) downtime and a peak of (\d+(?:\.\d+)?) to (\d+(?:\.\d+)?) times the steady pod count$`,
			Doc:     "Asserts the measured row: no failed request (or at least one), and the peak-to-steady pod ratio within the bounds.",
			Example: `Then the strategy table row shows no downtime and a peak of 1.25 to 1.25 times the steady pod count`,
			Fn:      w.strategyShows},
	}
}

// onlyUsers is the scenario's single traffic generator.
func (w *World) onlyUsers() (*traffic.Generator, string, error) {
	if len(w.users) != 1 {
		return nil, "", fmt.Errorf("measuring a strategy needs users sending to exactly one Service, there are %d", len(w.users))
	}
	for svc, g := range w.users {
		return g, svc, nil
	}
	return nil, "", nil
}

func (w *World) measureRollout(ctx context.Context, version, strategy string) error {
	g, svc, err := w.onlyUsers()
	if err != nil {
		return err
	}
	push := w.lastPush.at
	if push.IsZero() {
		return fmt.Errorf("no push to measure from")
	}
	now := settledUntil()
	records := g.Records(push)
	s := traffic.Summarize(records, push, now)
	settled, ok := traffic.SettledAt(records, version)
	if !ok {
		return fmt.Errorf("the users' requests to %s do not all reach %s yet: %s", svc, version, s)
	}
	ns := g.Namespace()
	rec := w.podRecorders[recorderKey("", ns)]
	if rec == nil {
		return fmt.Errorf("the pods of %s were not recorded", ns)
	}
	pods := rec.Pods()
	row := &reports.StrategyRow{Strategy: strategy, Requests: s.Total, Failed: s.Failed, LongestGapSeconds: s.LongestGap.Seconds(), RequestsPerSecond: g.Rate(),
		SteadyPods: podwatch.Alive(pods, push), PeakPods: podwatch.Peak(pods, push, time.Now()), PeakRunningPods: podwatch.PeakRunning(pods, push, time.Now()),
		RolloutSeconds: settled.Sub(push).Seconds()}
	if b, err := os.ReadFile(filepath.Join(w.featureDir, SeedDocument)); err == nil {
		row.Seed, row.Order = reports.SeedStrategyNamed(b, strategy)
	}
	if row.Seed == nil {
		return fmt.Errorf("%q is not a strategy of the seed's table (%s)", strategy, filepath.Join(w.featureDir, SeedDocument))
	}
	w.strategy = row
	w.note("%s rollout to %s: %s; pods %d steady, %d at peak (%d running, terminating ones aside); all requests on %s after %s",
		strategy, version, s, row.SteadyPods, row.PeakPods, row.PeakRunningPods, version, settled.Sub(push).Round(time.Millisecond))
	return nil
}

func (w *World) measureRollback(ctx context.Context, version string) error {
	if w.strategy == nil {
		return fmt.Errorf("measure the rollout first")
	}
	g, svc, err := w.onlyUsers()
	if err != nil {
		return err
	}
	push := w.lastPush.at
	records := g.Records(push)
	settled, ok := traffic.SettledAt(records, version)
	if !ok {
		return fmt.Errorf("the users' requests to %s do not all reach %s yet", svc, version)
	}
	w.strategy.RollbackSeconds = settled.Sub(push).Seconds()
	s := traffic.Summarize(records, push, settledUntil())
	w.note("%s rollback to %s: all requests on %s after %s; %s", w.strategy.Strategy, version, version, settled.Sub(push).Round(time.Millisecond), s)
	return nil
}

func (w *World) strategyKeptRunning(ctx context.Context, low, high float64) error {
	r := w.strategy
	if r == nil {
		return fmt.Errorf("no strategy row measured in this scenario")
	}
	if ratio := r.RunningRatio(); ratio < low-1e-9 || ratio > high+1e-9 {
		return fmt.Errorf("%s: %d pods running at once, terminating ones aside, for %d steady (%.2fx), want %.2f-%.2fx",
			r.Strategy, r.PeakRunningPods, r.SteadyPods, ratio, low, high)
	}
	return nil
}

func (w *World) strategyShows(ctx context.Context, downtime string, low, high float64) error {
	r := w.strategy
	if r == nil {
		return fmt.Errorf("no strategy row measured in this scenario")
	}
	if saw, why := r.Downtime(); saw != (downtime == "some") {
		return fmt.Errorf("%s: %s; want %s downtime", r.Strategy, why, downtime)
	}
	if ratio := r.PeakRatio(); ratio < low-1e-9 || ratio > high+1e-9 {
		return fmt.Errorf("%s: peak %d pods for %d steady (%.2fx), want %.2f-%.2fx", r.Strategy, r.PeakPods, r.SteadyPods, ratio, low, high)
	}
	return nil
}
