package steps

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/reports"
)

// benchEnv starts a real environment at the given time scale with the
// seed's GitLab and Harbor mapped, Argo CD's repository credentials and
// push webhooks.
func benchEnv(b *testing.B, scale float64, opts ...engine.Option) (*World, *engine.Engine, func()) {
	b.Helper()
	ctx := context.Background()
	env, err := lane.New(lane.Options{TimeScale: scale, EngineOptions: opts})
	if err != nil {
		b.Fatal(err)
	}
	w := newWorld(env, "benchmark", "bench")
	w.featureDir = "../features"
	cleanup := func() {
		_ = w.cleanup(context.Background())
		_ = env.Close(context.Background())
	}
	for _, err := range []error{env.Start(ctx), w.mapGitLab(ctx, "http://192.168.0.11:7780/"), w.mapHarbor(ctx, "192.168.0.11:30800"),
		w.argoCredentials(ctx, "http://192.168.0.11:7780/"), w.webhookToArgo(ctx)} {
		if err != nil {
			cleanup()
			b.Fatal(err)
		}
	}
	return w, env.Engine(), cleanup
}

// benchWorld is benchEnv with q-sign deployed with auto-sync and
// self-heal, fed by push webhooks, through the same code the steps use.
func benchWorld(b *testing.B, opts ...engine.Option) (*World, *engine.Engine, func()) {
	b.Helper()
	ctx := context.Background()
	w, e, cleanup := benchEnv(b, 60, opts...)
	for _, step := range []func() error{
		func() error { return w.createProject(ctx, "qsign-prod") },
		func() error { return w.imageFromFolder(ctx, "qsign-prod/app:v1.0.0", "../fixtures/repos/q-sign-app") },
		func() error { return w.gitServerHostsFolder(ctx, "root/q-sign", "../fixtures/repos/q-sign") },
		func() error { return w.applyApplicationFile(ctx, "applications/q-sign-auto.yaml") },
		func() error { return w.appStatusWithin(ctx, 60, "q-sign", "Synced", "Healthy") },
	} {
		if err := step(); err != nil {
			cleanup()
			b.Fatal(err)
		}
	}
	return w, e, cleanup
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// pushUntilSynced pushes a one-line values change and returns the time from
// the push to the app being Synced and Healthy at that commit.
func pushUntilSynced(ctx context.Context, w *World, e *engine.Engine, i int) (time.Duration, error) {
	d, _, err := pushUntilSyncedSplit(ctx, w, e, i)
	return d, err
}

// pushUntilSyncedSplit also returns how long the developer's clone, commit
// and push took (part of the total).
func pushUntilSyncedSplit(ctx context.Context, w *World, e *engine.Engine, i int) (total, push time.Duration, err error) {
	total, push, _, err = pushUntilHealthy(ctx, w, e, i)
	return total, push, err
}

// pushUntilHealthy also returns when the app was first seen Synced at the
// commit (before its rollout made it Healthy).
func pushUntilHealthy(ctx context.Context, w *World, e *engine.Engine, i int) (total, push, synced time.Duration, err error) {
	level := []string{"debug", "info"}[i%2] // values.yaml starts at info
	start := time.Now()
	if err := w.setValueAndPush(ctx, "config.logLevel", level, "helm/keycloak-pqc/values.yaml", "root/q-sign", fmt.Sprintf("Log level %s (%d)", level, i)); err != nil {
		return 0, 0, 0, err
	}
	push = time.Since(start)
	_, err = await.Eventually(ctx, "q-sign Synced and Healthy at the pushed commit", 30*time.Second,
		w.appCheck(e, "q-sign", func(a *engine.Application) await.Result {
			if synced == 0 && a.Status.Sync.Revision == w.lastPush.sha && a.Status.Sync.Status == "Synced" {
				synced = time.Since(start)
			}
			if a.Status.Sync.Revision == w.lastPush.sha && a.Status.Sync.Status == "Synced" && a.Status.Health.Status == "Healthy" {
				return await.Passed("%s", a.Summary())
			}
			return await.Waiting("%s", a.Summary())
		}))
	return time.Since(start), push, synced, err
}

// BenchmarkWebhookPushToSynced: git push -> webhook -> app Synced and
// Healthy at the new commit, over 50 pushes (targets: p50 <= 1 s, p99 <= 2 s),
// with Argo CD's cache embedded (the default) and, where the machine has
// it, the system's redis-server, one after the other.
func BenchmarkWebhookPushToSynced(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a cluster and Argo CD")
	}
	for _, redis := range []string{engine.RedisEmbedded, engine.RedisServer} {
		b.Run("redis="+redis, func(b *testing.B) {
			if redis == engine.RedisServer {
				if _, err := exec.LookPath("redis-server"); err != nil {
					b.Skip("no redis-server on this machine (Debian: apt-get install redis-server)")
				}
			}
			benchPushToSynced(b, engine.WithRedis(redis))
		})
	}
}

func benchPushToSynced(b *testing.B, opts ...engine.Option) {
	w, e, cleanup := benchWorld(b, opts...)
	defer cleanup()
	ctx := context.Background()
	const pushes = 50
	var took, pushing, syncing []time.Duration
	b.ResetTimer()
	for i := 0; i < pushes; i++ {
		d, p, s, err := pushUntilHealthy(ctx, w, e, i)
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, d)
		pushing = append(pushing, p)
		syncing = append(syncing, s)
	}
	b.ReportMetric(percentile(syncing, 0.5).Seconds(), "synced-p50-s")
	b.ReportMetric(percentile(took, 0.5).Seconds(), "p50-s")
	b.ReportMetric(percentile(took, 0.99).Seconds(), "p99-s")
	b.ReportMetric(percentile(pushing, 0.5).Seconds(), "push-p50-s")
	b.ReportMetric(float64(pushes), "pushes")
}

// BenchmarkSelfHealFirstDrift: kubectl scale -> spec.replicas restored by
// self-heal, for the first drift after a new revision (no heal backoff yet;
// target <= 0.5 s). Each round pushes a commit first, which resets Argo
// CD's heal attempt counter.
func BenchmarkSelfHealFirstDrift(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a cluster and Argo CD")
	}
	w, e, cleanup := benchWorld(b)
	defer cleanup()
	ctx := context.Background()
	const rounds = 10
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < rounds; i++ {
		if _, err := pushUntilSynced(ctx, w, e, i); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := w.scaleDeployment(ctx, "keycloak", "q-sign", 5); err != nil {
			b.Fatal(err)
		}
		_, err := await.Eventually(ctx, "drift reverted", 30*time.Second, func(ctx context.Context) await.Result {
			d, err := e.Kube().AppsV1().Deployments("q-sign").Get(ctx, "keycloak", metav1.GetOptions{})
			if err != nil {
				return await.Waiting("%v", err)
			}
			if *d.Spec.Replicas == 1 {
				return await.Passed("reverted")
			}
			return await.Waiting("spec.replicas=%d", *d.Spec.Replicas)
		})
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.ReportMetric(percentile(took, 0.5).Seconds(), "p50-s")
	b.ReportMetric(percentile(took, 1).Seconds(), "max-s")
	b.ReportMetric(float64(rounds), "drifts")
}

// BenchmarkStackStart: cluster, Argo CD and Argo Rollouts from warm
// binaries to ready.
func BenchmarkStackStart(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a cluster and Argo CD")
	}
	for i := 0; i < b.N; i++ {
		env, err := lane.New(lane.Options{TimeScale: 60})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := env.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		rollouts := time.Now()
		if err := env.Engine().StartRollouts(context.Background()); err != nil {
			_ = env.Close(context.Background())
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/start")
		b.ReportMetric(env.Timings()["cluster"].Seconds(), "cluster-s")
		b.ReportMetric(env.Timings()["engine"].Seconds(), "engine-s")
		b.ReportMetric(time.Since(rollouts).Seconds(), "rollouts-s")
		_ = env.Close(context.Background())
	}
}

// BenchmarkStrategyTable runs the seed's strategy table (the @strategies
// scenario outline) and prints it: failed requests and longest gap during
// the rollout, peak pods against steady, rollout and rollback times.
func BenchmarkStrategyTable(b *testing.B) {
	for i := 0; i < b.N; i++ {
		// One lane: strategies measured side by side would share the CPUs
		// and blur each other's gaps and rollback times.
		res, err := Run(context.Background(), RunOptions{Paths: []string{"../features/10_strategies.feature"}, Parallel: 1,
			Env: lane.Options{TimeScale: 60}, Formats: []string{"progress"}, Output: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		if res.Failed > 0 {
			for _, o := range res.Outcomes {
				if o.Err != nil {
					b.Errorf("%s: %v", o.Scenario, o.Err)
				}
			}
			b.FailNow()
		}
		var rows []reports.StrategyRow
		for _, o := range res.Outcomes {
			if o.Strategy != nil {
				rows = append(rows, *o.Strategy)
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].Order < rows[j].Order })
		fmt.Printf("\n%-15s %-10s %-22s %-10s %-18s %-9s %-9s %-9s\n", "strategy", "seed: down", "failed / gap", "seed: use", "peak / steady pods", "seed: rb", "rollback", "rollout")
		for _, r := range rows {
			fmt.Printf("%-15s %-10s %-22s %-10s %-18s %-9s %-9s %-9s\n", r.Strategy, r.Seed.Downtime,
				fmt.Sprintf("%d of %d, %s", r.Failed, r.Requests, secs(r.LongestGapSeconds)), r.Seed.ResourceUse,
				fmt.Sprintf("%d / %d (%.2fx)", r.PeakPods, r.SteadyPods, r.PeakRatio()), r.Seed.RollbackSpeed,
				secs(r.RollbackSeconds), secs(r.RolloutSeconds))
			b.ReportMetric(r.RollbackSeconds, "s-rollback-"+strings.ReplaceAll(strings.ToLower(r.Strategy), " ", "-"))
		}
	}
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Millisecond).String()
}

// BenchmarkFullSuite runs every feature once on the machine's default
// lanes and prints the wall time (issue 8's target: 90 s on 2 cores), with
// the sum of the scenarios' own durations beside it: most of that is
// waiting on the seed's clock, which lanes overlap but cannot shorten.
func BenchmarkFullSuite(b *testing.B) {
	if testing.Short() {
		b.Skip("runs every feature")
	}
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := Run(context.Background(), RunOptions{Paths: []string{"../features"},
			Env: lane.Options{TimeScale: 60}, Formats: []string{"progress"}, Output: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)
		var sum time.Duration
		for _, o := range res.Outcomes {
			sum += o.Duration
			if o.Err != nil {
				b.Errorf("%s: %s: %v", o.Feature, o.Scenario, o.Err)
			}
		}
		fmt.Printf("\nfull suite: %d scenarios, %d failed, %d lanes, wall %s, scenarios' own time %s, peak memory (sum of lanes) %d MB\n",
			res.Passed+res.Failed, res.Failed, res.Lanes, wall.Round(time.Second), sum.Round(time.Second), res.PeakRSS>>20)
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(sum.Seconds(), "scenario-sum-s")
		b.ReportMetric(float64(res.Lanes), "lanes")
	}
}
