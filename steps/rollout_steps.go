package steps

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/fixtures/metrics"
	"github.com/rehearse/rehearse/fixtures/traffic"
	"github.com/rehearse/rehearse/fixtures/values"
	"github.com/rehearse/rehearse/fixtures/workspace"
	"github.com/rehearse/rehearse/internal/await"
	"github.com/rehearse/rehearse/reports/sequence"
)

func (w *World) rolloutSteps() []StepDef {
	return []StepDef{
		{Pattern: `^Argo Rollouts runs in the cluster$`,
			Doc:     "Starts the real Argo Rollouts controller (built from source) against the cluster, with its CRDs, once per run.",
			Example: `Given Argo Rollouts runs in the cluster`,
			Fn:      w.rolloutsRun},
		{Pattern: `^the seed's Prometheus "([^"]*)" is served by the local Prometheus, scraping "([^"]*)" every (\d+)s of seed time$`,
			Doc: "Starts the scenario's Prometheus: it scrapes the pods of the namespace annotated prometheus.io/scrape, on seed time, " +
				"and answers PromQL (Prometheus's engine) on 127.0.0.1. The seed's URL is mapped to it for Argo Rollouts' providers.",
			Example: `Given the seed's Prometheus "http://prometheus.monitoring.svc.cluster.local:9090" is served by the local Prometheus, scraping "q-sign" every 15s of seed time`,
			Fn:      w.startPrometheus},
		{Pattern: `^the durations in "([^"]*)" of "([^"]*)" follow the run's time scale$`,
			Doc: "Commits and pushes, as the developer, the directory's Rollout, AnalysisTemplate and Deployment durations compressed to the run's " +
				"time scale (pause, interval, initialDelay, scale-down delays, progress deadline); a Rollout's scale-down delays it leaves to Argo Rollouts' " +
				"default (30s) are written, compressed; each rewrite is listed in the report.",
			Example: `Given the durations in "canary" of "root/q-sign-rollouts" follow the run's time scale`,
			Fn:      w.compressDurations},
		{Pattern: `^users send (\d+) requests per second to the Service "([^"]*)" in "([^"]*)"$`,
			Doc: "Starts the seed's Users: requests at that rate to the Service's ready endpoints (its EndpointSlices, round-robin), " +
				"over the pod network; each request's status, latency and version is recorded until the scenario ends.",
			Example: `Given users send 100 requests per second to the Service "q-sign" in "q-sign"`,
			Fn:      w.startUsers},
		{Pattern: `^within (\d+)s the rollout "([^"]*)" in "([^"]*)" is "([^"]*)"(?: with a message containing "([^"]*)")?$`,
			Doc:     "Waits for the Rollout's status.phase (Healthy, Progressing, Paused, Degraded); the message text is matched against its message and pause reasons.",
			Example: `Then within 30s the rollout "q-sign" in "q-sign" is "Degraded" with a message containing "RolloutAborted"`,
			Fn:      w.rolloutPhase},
		{Pattern: `^within (\d+)s the rollout "([^"]*)" in "([^"]*)" is at step (\d+) with (\d+) ready pods? of "([^"]*)" and (\d+) of "([^"]*)"$`,
			Doc:     "Waits until the canary Rollout's currentStepIndex is that step and the ready pods per image tag are as given.",
			Example: `Then within 40s the rollout "q-sign" in "q-sign" is at step 1 with 1 ready pod of "v2.0.0" and 10 of "v1.0.0"`,
			Fn:      w.rolloutAtStep},
		{Pattern: `^within (\d+)s the blue-green rollout "([^"]*)" in "([^"]*)" has (\d+) ready pods? of "([^"]*)" active(?: and (\d+) of "([^"]*)" in preview)?$`,
			Doc: "Waits until the pods the blue-green Rollout's active Service selects (status.blueGreen.activeSelector) are that many, " +
				"all ready and of that image tag, and the preview's likewise; without the preview part, preview is the active set or none.",
			Example: `Then within 30s the blue-green rollout "q-sign" in "q-sign" has 3 ready pods of "v1.0.0" active and 3 of "v2.0.0" in preview`,
			Fn:      w.blueGreenSets},
		{Pattern: `^the rollout "([^"]*)" in "([^"]*)" stays at step (\d+) with (\d+) ready pods? of "([^"]*)" and (\d+) of "([^"]*)" for (\d+)s$`,
			Doc:     "The canary Rollout holds that step and those ready pods the whole time (real seconds).",
			Example: `Then the rollout "q-sign" in "q-sign" stays at step 1 with 1 ready pod of "v2.0.2" and 9 of "v1.0.0" for 3s`,
			Fn:      w.rolloutStaysAtStep},
		{Pattern: `^within (\d+)s the rollout "([^"]*)" in "([^"]*)" runs only "([^"]*)" on (\d+) ready pods?$`,
			Doc:     "Waits until every pod of the Rollout runs that image tag, that many of them ready, and no other pod is left.",
			Example: `Then within 30s the rollout "q-sign" in "q-sign" runs only "v2.0.0" on 10 ready pods`,
			Fn:      w.rolloutRunsOnly},
		{Pattern: `^the admin promotes the rollout "([^"]*)" in "([^"]*)"$`,
			Doc:     "What `kubectl argo rollouts promote` does: clears the pause conditions and spec.paused.",
			Example: `When the admin promotes the rollout "q-sign" in "q-sign"`,
			Fn:      w.promoteRollout},
		{Pattern: `^the admin aborts the rollout "([^"]*)" in "([^"]*)"$`,
			Doc:     "What `kubectl argo rollouts abort` does: sets status.abort.",
			Example: `When the admin aborts the rollout "q-sign" in "q-sign"`,
			Fn:      w.abortRollout},
		{Pattern: `^within (\d+)s the latest (?:(pre-promotion|post-promotion) )?analysis run of the rollout "([^"]*)" in "([^"]*)" is "([^"]*)"(?: with a message containing "([^"]*)")?$`,
			Doc: "Waits for the phase (Successful, Failed, Error, Inconclusive) of the Rollout's newest AnalysisRun (of that blue-green " +
				"kind if given); the text is matched against the run's and its metrics' messages and measurements. The measurements go to the report.",
			Example: `Then within 30s the latest analysis run of the rollout "q-sign" in "q-sign" is "Failed" with a message containing "error-rate"`,
			Fn:      w.analysisRunPhase},
		{Pattern: `^the latest analysis run of the rollout "([^"]*)" in "([^"]*)" measured "([^"]*)"$`,
			Doc:     "One of the newest AnalysisRun's measurements (phase, value, message) contains the text.",
			Example: `Then the latest analysis run of the rollout "q-sign" in "q-sign" measured "no data returned from the metric provider"`,
			Fn:      w.analysisMeasured},
		{Pattern: `^during (\d+)s the users' requests to "([^"]*)" reach "([^"]*)" (\d+)% of the time, within (\d+) points, and none fails$`,
			Doc:     "Measures the users' traffic for that long (real seconds): the share answered by that version, and no failed request.",
			Example: `Then during 3s the users' requests to "q-sign" reach "v2.0.0" 10% of the time, within 4 points, and none fails`,
			Fn:      w.trafficShare},
		{Pattern: `^within (\d+)s the users' requests to "([^"]*)" reach only "([^"]*)"$`,
			Doc:     "Waits until 20 requests in a row were answered by that version.",
			Example: `Then within 10s the users' requests to "q-sign" reach only "v2.0.0"`,
			Fn:      w.trafficOnly},
		{Pattern: `^none of the users' requests to "([^"]*)" has failed(?:, and no answer was missing for more than (\d+)ms)?$`,
			Doc:     "Every request sent to the Service since the users started was answered 2xx (optionally: no gap between successful answers longer than that).",
			Example: `Then none of the users' requests to "q-sign" has failed, and no answer was missing for more than 500ms`,
			Fn:      w.noFailedRequest},
		{Pattern: `^the users' requests to "([^"]*)" never reached "([^"]*)"$`,
			Doc:     "No request sent to the Service since the users started was answered by that version.",
			Example: `Then the users' requests to "q-sign" never reached "v2.0.1"`,
			Fn:      w.neverReached},
		{Pattern: `^the namespace "([^"]*)" exists$`,
			Doc:     "Creates the namespace if it is missing (kubectl create namespace); a namespace the run created is deleted at its end.",
			Example: `Given the namespace "q-sign" exists`,
			Fn:      w.namespaceExists},
		{Pattern: `^Prometheus answers every query with an empty result$`,
			Doc:     "Fault injection: the scenario's Prometheus answers every query successfully with no series (as a wrong label or a missing scrape would).",
			Example: `When Prometheus answers every query with an empty result`,
			Fn:      w.prometheusEmpty},
		{Pattern: `^the admin applies "([^"]*)" of "([^"]*)" to the namespace "([^"]*)" with kubectl$`,
			Doc:     "Server-side applies the file's objects, as in the repository's main branch, into the namespace (kubectl apply --server-side).",
			Example: `When the admin applies "manual/green-deployment.yaml" of "root/q-sign-rollouts" to the namespace "q-sign" with kubectl`,
			Fn:      w.kubectlApply},
		{Pattern: `^within (\d+)s all (\d+) pods? labelled "([^"]*)" in "([^"]*)" (?:is|are) ready$`,
			Doc:     "The seed's `kubectl get pods -l version=v2.0.0`: exactly that many pods match, all Ready.",
			Example: `Then within 30s all 3 pods labelled "version=v2.0.0" in "q-sign" are ready`,
			Fn:      w.labelledPodsReady},
		{Pattern: `^the admin's smoke test of the pods labelled "([^"]*)" in "([^"]*)" passes$`,
			Doc: "Sends 20 requests to each matching pod directly (pod network, its first container's first port, else 8080) and expects " +
				"every answer to be 2xx and name a version, read as the users read it.",
			Example: `When the admin's smoke test of the pods labelled "version=v2.0.0" in "q-sign" passes`,
			Fn:      w.smokeTest},
		{Pattern: `^the admin patches the selector of the Service "([^"]*)" in "([^"]*)" to "([^"]*)" with kubectl$`,
			Doc:     "The seed's `kubectl patch service`: sets one selector label (key=value).",
			Example: `When the admin patches the selector of the Service "q-sign" in "q-sign" to "version=v2.0.0" with kubectl`,
			Fn:      w.patchSelector},
		{Pattern: `^the admin monitors the error rate of "([^"]*)" in Prometheus for (\d+) minutes? of seed time and sees no errors$`,
			Doc: "For that long (compressed), queries Prometheus every seed 15 s for the namespace's 5xx rate and requires 0, and the users' " +
				"requests meanwhile all succeed.",
			Example: `Then the admin monitors the error rate of "q-sign" in Prometheus for 5 minutes of seed time and sees no errors`,
			Fn:      w.monitorNoErrors},
		{Pattern: `^the admin deletes the deployment "([^"]*)" in "([^"]*)" with kubectl$`,
			Doc:     "Deletes the Deployment (foreground: its pods go with it).",
			Example: `When the admin deletes the deployment "q-sign-blue" in "q-sign" with kubectl`,
			Fn:      w.deleteDeployment},
		{Pattern: `^within (\d+)s no pod labelled "([^"]*)" is left in "([^"]*)"$`,
			Doc:     "Waits until no pod matches the label selector.",
			Example: `Then within 30s no pod labelled "version=v1.0.0" is left in "q-sign"`,
			Fn:      w.noLabelledPods},
	}
}

func (w *World) rolloutsRun(ctx context.Context) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := e.StartRollouts(ctx); err != nil {
		return err
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		w.note("Argo Rollouts %s started in %s", engine.DefaultRolloutsVersion, d.Round(time.Millisecond))
	}
	return nil
}

// prometheus is the scenario's Prometheus.
type prometheus struct {
	server  *metrics.Server
	scraper *metrics.Scraper
	stop    context.CancelFunc
	url     string // the seed's address
}

func (w *World) startPrometheus(ctx context.Context, seedURL, namespace string, every int) error {
	if w.prom != nil {
		return fmt.Errorf("the scenario's Prometheus is already running (for %s)", w.prom.url)
	}
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	if every <= 0 {
		return fmt.Errorf("scrape interval must be at least 1s, got %ds", every)
	}
	scale := w.env.Scale()
	clock := metrics.Clock{Origin: time.Now(), Factor: scale.Factor()}
	store := metrics.NewStore()
	srv := metrics.NewServer(store, clock)
	if err := srv.Start(); err != nil {
		return err
	}
	scraper := metrics.NewScraper(store, clock, e.Kube(), podruntime.Dial)
	scraper.Watch(namespace)
	runCtx, cancel := context.WithCancel(context.Background())
	interval := scale.Convert("Prometheus scrape_interval", time.Duration(every)*time.Second)
	go scraper.Run(runCtx, interval)
	w.prom = &prometheus{server: srv, scraper: scraper, stop: cancel, url: seedURL}
	if !strings.HasSuffix(seedURL, "/") {
		seedURL += "/"
	}
	if err := w.env.ProxyTable().Map(seedURL, srv.URL()+"/"); err != nil {
		return err
	}
	return w.rewriter.Map(seedURL, srv.URL()+"/")
}

func (w *World) compressDurations(ctx context.Context, dir, repo string) error {
	scale := w.env.Scale()
	var rewrites []string
	err := w.pushChange(ctx, fmt.Sprintf("Compress %s durations to the rehearsal's time scale (%gx)", dir, scale.Factor()), repo, "main",
		func(ws *workspace.Workspace) (err error) {
			rewrites, err = values.CompressDurations(ws.Dir, dir, scale)
			if err != nil {
				return fmt.Errorf("compressing the durations of %s: %w", repo, err)
			}
			return nil
		})
	if err == nil {
		w.note("durations compressed in %s: %s", dir, strings.Join(rewrites, "; "))
	}
	return err
}

func (w *World) startUsers(ctx context.Context, rate int, svc, ns string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	if w.users[svc] != nil {
		return fmt.Errorf("users already send requests to the Service %q", svc)
	}
	g, err := traffic.Start(ctx, e.Kube(), podruntime.Dial, ns, svc, float64(rate), traffic.WithVersionReader(w.versionReader))
	if err != nil {
		return err
	}
	return w.usersStarted(ctx, svc, g, fmt.Sprintf("Traffic (%d requests/s to Service %s)", rate, svc))
}

// usersStarted keeps the users by name and records the namespace's
// Rollouts and pods while they send.
func (w *World) usersStarted(ctx context.Context, name string, g *traffic.Generator, event string) error {
	w.users[name] = g
	w.recordRollouts(g.Namespace())
	if err := w.watchPods(ctx, "", g.Namespace()); err != nil {
		return err
	}
	w.observe(sequence.Users, sequence.Kubernetes, event)
	return nil
}

// inFlight is how long a request may still be unanswered: requests sent
// more recently are left out of what the users saw.
const inFlight = 500 * time.Millisecond

// settledUntil is the end of the window of requests that have their answer.
func settledUntil() time.Time { return time.Now().Add(-inFlight) }

func (w *World) generator(svc string) (*traffic.Generator, error) {
	g := w.users[svc]
	if g == nil {
		return nil, fmt.Errorf("no users send requests to %q (add: users send N requests per second to the Service %q in ..., or through the HTTPRoute %q in ...)", svc, svc, svc)
	}
	return g, nil
}

func (w *World) rolloutPhase(ctx context.Context, seconds int, name, ns, phase, text string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("rollout %s/%s to be %s", ns, name, phase), time.Duration(seconds)*time.Second,
		e.RolloutPhase(ns, name, phase, text))
	return err
}

func (w *World) rolloutAtStep(ctx context.Context, seconds int, name, ns string, step, nA int, tagA string, nB int, tagB string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("rollout %s/%s at step %d with %d %s and %d %s ready", ns, name, step, nA, tagA, nB, tagB),
		time.Duration(seconds)*time.Second, e.CanaryAtStep(ns, name, step, engine.TagCount{Tag: tagA, Ready: nA}, engine.TagCount{Tag: tagB, Ready: nB}))
	return err
}

func (w *World) rolloutStaysAtStep(ctx context.Context, name, ns string, step, nA int, tagA string, nB int, tagB string, seconds int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Consistently(ctx, fmt.Sprintf("rollout %s/%s to stay at step %d with %d %s and %d %s ready", ns, name, step, nA, tagA, nB, tagB),
		time.Duration(seconds)*time.Second, e.CanaryAtStep(ns, name, step, engine.TagCount{Tag: tagA, Ready: nA}, engine.TagCount{Tag: tagB, Ready: nB}))
	return err
}

func (w *World) rolloutRunsOnly(ctx context.Context, seconds int, name, ns, tag string, n int) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("rollout %s/%s to run only %s on %d ready pods", ns, name, tag, n),
		time.Duration(seconds)*time.Second, e.RolloutRunsOnly(ns, name, tag, n))
	return err
}

func (w *World) promoteRollout(ctx context.Context, name, ns string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := e.PromoteRollout(ctx, ns, name); err != nil {
		return err
	}
	w.observeAt(start, sequence.Admin, sequence.Kubernetes, "kubectl argo rollouts promote "+name)
	return nil
}

func (w *World) abortRollout(ctx context.Context, name, ns string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := e.AbortRollout(ctx, ns, name); err != nil {
		return err
	}
	w.observeAt(start, sequence.Admin, sequence.Kubernetes, "kubectl argo rollouts abort "+name)
	return nil
}

func (w *World) analysisRunPhase(ctx context.Context, seconds int, kind, rollout, ns, phase, text string) error {
	runType := map[string]string{"pre-promotion": "PrePromotion", "post-promotion": "PostPromotion"}[kind]
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	var last engine.AnalysisRun
	_, err = await.Eventually(ctx, fmt.Sprintf("the latest analysis run of rollout %s/%s to be %s", ns, rollout, phase),
		time.Duration(seconds)*time.Second, e.LatestAnalysisRun(ns, rollout, runType, phase, text, func(r engine.AnalysisRun) { last = r }))
	if last.Name != "" {
		// Only a note: the analysis is Argo Rollouts' to record (a step
		// writing it would stand for a system, and be written even when
		// the wait failed).
		w.note("analysis run %s: %s", last.Name, last)
	}
	return err
}

func (w *World) analysisMeasured(ctx context.Context, rollout, ns, text string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	runs, err := e.AnalysisRuns(ctx, ns, rollout)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return fmt.Errorf("rollout %s/%s has no analysis run", ns, rollout)
	}
	last := runs[len(runs)-1]
	for _, m := range last.Metrics {
		for _, x := range m.Measurements {
			if strings.Contains(x, text) {
				return nil
			}
		}
	}
	return fmt.Errorf("no measurement of %s contains %q: %s", last.Name, text, last)
}

// measureUsers watches the users' requests to a Service or route for that
// many real seconds and returns those that have their answer, with their
// summary. Requests still in flight at the end are not counted.
func (w *World) measureUsers(ctx context.Context, name string, seconds int) ([]traffic.Record, traffic.Summary, error) {
	g, err := w.generator(name)
	if err != nil {
		return nil, traffic.Summary{}, err
	}
	from := time.Now()
	select {
	case <-ctx.Done():
		return nil, traffic.Summary{}, ctx.Err()
	case <-time.After(time.Duration(seconds) * time.Second):
	}
	to := settledUntil()
	rs := slices.DeleteFunc(g.Records(from), func(r traffic.Record) bool { return !r.At.Before(to) })
	return rs, traffic.Summarize(rs, from, to), nil
}

func (w *World) trafficShare(ctx context.Context, seconds int, svc, version string, percent, tolerance int) error {
	_, s, err := w.measureUsers(ctx, svc, seconds)
	if err != nil {
		return err
	}
	w.note("traffic to %s during %ds: %s", svc, seconds, s)
	share := s.Share(version) * 100
	if s.Failed > 0 {
		return fmt.Errorf("%d of %d requests failed: %s", s.Failed, s.Total, s)
	}
	if math.Abs(share-float64(percent)) > float64(tolerance) {
		return fmt.Errorf("%s answered %.1f%% of the requests, want %d%% within %d points: %s", version, share, percent, tolerance, s)
	}
	for _, v := range slices.Sorted(maps.Keys(s.ByVersion)) {
		w.observe(sequence.Kubernetes, sequence.Kubernetes, fmt.Sprintf("Route %.0f%% → %s", s.Share(v)*100, v))
	}
	return nil
}

func (w *World) trafficOnly(ctx context.Context, seconds int, svc, version string) error {
	g, err := w.generator(svc)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("the users' requests to %s to reach only %s", svc, version), time.Duration(seconds)*time.Second,
		func(context.Context) await.Result {
			rs := g.Records(time.Now().Add(-5 * time.Second))
			for len(rs) > 0 && rs[len(rs)-1].At.After(settledUntil()) {
				rs = rs[:len(rs)-1]
			}
			if len(rs) < 20 {
				return await.Waiting("%d recent requests", len(rs))
			}
			tail := rs[len(rs)-20:]
			for _, r := range tail {
				if !r.OK() || r.Version != version {
					return await.Waiting("recent answers: %s", traffic.Summarize(tail, tail[0].At, time.Now()))
				}
			}
			return await.Passed("the last 20 requests were answered by %s", version)
		})
	if err == nil {
		w.observe(sequence.LB, sequence.Kubernetes, "Route traffic to "+version)
		w.observe(sequence.Kubernetes, sequence.Admin, "Traffic switched: every request reaches "+version)
	}
	return err
}

func (w *World) noFailedRequest(ctx context.Context, svc, gapMillis string) error {
	g, err := w.generator(svc)
	if err != nil {
		return err
	}
	to := settledUntil()
	s := traffic.Summarize(g.Records(g.Started()), g.Started(), to)
	w.note("users' requests to %s since they started: %s", svc, s)
	if s.Total == 0 {
		return fmt.Errorf("no request was sent to %s", svc)
	}
	if s.Failed > 0 {
		return fmt.Errorf("%d of %d requests to %s failed: %s; ready endpoints since the users started: %s", s.Failed, s.Total, svc, s, g.EndpointTimeline())
	}
	if gapMillis != "" {
		var ms int
		fmt.Sscan(gapMillis, &ms)
		if s.LongestGap > time.Duration(ms)*time.Millisecond {
			return fmt.Errorf("no successful answer for %s at one point (allowed %dms): %s", s.LongestGap.Round(time.Millisecond), ms, s)
		}
	}
	return nil
}

func (w *World) neverReached(ctx context.Context, svc, version string) error {
	g, err := w.generator(svc)
	if err != nil {
		return err
	}
	s := traffic.Summarize(g.Records(g.Started()), g.Started(), time.Now())
	if n := s.ByVersion[version]; n > 0 {
		return fmt.Errorf("%d requests to %s were answered by %s: %s", n, svc, version, s)
	}
	if s.Total == 0 {
		return fmt.Errorf("no request was sent to %s", svc)
	}
	return nil
}

func (w *World) namespaceExists(ctx context.Context, ns string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = e.Kube().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	switch {
	case err == nil:
		w.newNamespaces[ns] = true
	case !apierrors.IsAlreadyExists(err):
		return err
	}
	return w.watchPods(ctx, "", ns)
}

func (w *World) prometheusEmpty(ctx context.Context) error {
	if w.prom == nil {
		return fmt.Errorf("no Prometheus in this scenario")
	}
	w.prom.server.SetEmpty(true)
	w.observe(sequence.Prometheus, sequence.Prometheus, "fault: every query answers an empty result")
	return nil
}

func (w *World) kubectlApply(ctx context.Context, file, repo, ns string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	doc, err := w.readFromGit(repo, file)
	if err != nil {
		return err
	}
	objs, err := e.KubectlApply(ctx, file+" of "+repo, doc, ns)
	// What people create by hand is gone when the scenario ends, or it
	// would meet the next scenario (a Deployment's pods matching a
	// Rollout's selector).
	for _, o := range objs {
		w.undo = append(w.undo, func(ctx context.Context) error { return o.Delete(ctx, 60*time.Second) })
	}
	if err != nil {
		return err
	}
	if err := w.watchPods(ctx, "", ns); err != nil {
		return err
	}
	w.observe(sequence.Admin, sequence.Kubernetes, "kubectl apply "+path.Base(file))
	return nil
}

func (w *World) labelledPodsReady(ctx context.Context, seconds, n int, selector, ns string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("%d ready pods labelled %s in %s", n, selector, ns), time.Duration(seconds)*time.Second,
		e.LabelledPodsReady(ns, selector, n))
	if err == nil {
		// What the step did: the pods list kubectl get pods -l asks for,
		// through the API, not the kubectl program.
		w.observe(sequence.Admin, sequence.Kubernetes, "list pods -l "+selector+" (kubectl get pods -l)")
		w.observe(sequence.Kubernetes, sequence.Admin, fmt.Sprintf("Pods running: %d labelled %s", n, selector))
		w.observe(sequence.Kubernetes, sequence.Admin, fmt.Sprintf("All pods ready (%d/%d)", n, n))
	}
	return err
}

func (w *World) smokeTest(ctx context.Context, selector, ns string) error {
	if _, err := w.engine(ctx); err != nil {
		return err
	}
	pods, err := w.env.Engine().LabelledPods(ctx, ns, selector)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		return fmt.Errorf("no pod labelled %s in %s to smoke-test", selector, ns)
	}
	start := time.Now()
	for _, p := range pods {
		port := 8080
		if len(p.Spec.Containers) > 0 && len(p.Spec.Containers[0].Ports) > 0 {
			port = int(p.Spec.Containers[0].Ports[0].ContainerPort)
		}
		for i := 0; i < 20; i++ {
			if _, err := w.versionReader.Ask(ctx, podruntime.Dial, net.JoinHostPort(p.Status.PodIP, strconv.Itoa(port))); err != nil {
				return fmt.Errorf("smoke test of pod %s: request %d: %w", p.Name, i+1, err)
			}
		}
	}
	w.observeAt(start, sequence.Admin, sequence.Kubernetes, "Smoke tests on "+selector)
	w.observe(sequence.Kubernetes, sequence.Admin, "Tests passed")
	return nil
}

func (w *World) patchSelector(ctx context.Context, svc, ns, label string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	k, v, ok := strings.Cut(label, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: give the selector label as key=value", label)
	}
	patch := fmt.Sprintf(`{"spec":{"selector":{%q:%q}}}`, k, v)
	if _, err := e.Kube().CoreV1().Services(ns).Patch(ctx, svc, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl"}); err != nil {
		return fmt.Errorf("kubectl patch service %s: %w", svc, err)
	}
	w.observe(sequence.Admin, sequence.Kubernetes, fmt.Sprintf("kubectl patch service %s selector: %s", svc, label))
	return nil
}

func (w *World) monitorNoErrors(ctx context.Context, ns string, minutes int) error {
	if w.prom == nil {
		return fmt.Errorf("no Prometheus in this scenario")
	}
	seed := time.Duration(minutes) * time.Minute
	real := w.env.Scale().Convert("the admin's monitoring of "+ns, seed)
	from := time.Now()
	m, err := w.prom.server.MonitorNoErrors(ctx, ns, real, w.env.Scale().Real(15*time.Second))
	if err != nil {
		return err
	}
	for svc, g := range w.users {
		if s := traffic.Summarize(g.Records(from), from, settledUntil()); s.Failed > 0 {
			return fmt.Errorf("users of %s saw failures while monitoring: %s", svc, s)
		}
	}
	w.note("monitored %s for %s of seed time (%s real): %d checks of %s, all 0, with requests scraped", ns, seed, real, m.Checks, m.ErrorQuery)
	w.observeAt(from, sequence.Admin, sequence.Kubernetes, fmt.Sprintf("Monitor metrics (%d min)", minutes))
	w.observe(sequence.Kubernetes, sequence.Admin, "No errors detected")
	return nil
}

func (w *World) deleteDeployment(ctx context.Context, name, ns string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	fg := metav1.DeletePropagationForeground
	if err := e.Kube().AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("kubectl delete deployment %s: not found in %s", name, ns)
		}
		return err
	}
	w.observe(sequence.Admin, sequence.Kubernetes, "kubectl delete deployment "+name)
	return nil
}

func (w *World) noLabelledPods(ctx context.Context, seconds int, selector, ns string) error {
	if _, err := w.engine(ctx); err != nil {
		return err
	}
	_, err := await.Eventually(ctx, fmt.Sprintf("no pod labelled %s in %s", selector, ns), time.Duration(seconds)*time.Second,
		func(ctx context.Context) await.Result {
			pods, err := w.env.Engine().Kube().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return await.Waiting("%v", err)
			}
			if len(pods.Items) == 0 {
				w.observe(sequence.Kubernetes, sequence.Admin, "All pods labelled "+selector+" gone")
				return await.Passed("none left")
			}
			var names []string
			for _, p := range pods.Items {
				names = append(names, p.Name)
			}
			return await.Waiting("still there: %s", strings.Join(names, ", "))
		})
	return err
}

// blueGreenSets checks the pods behind a blue-green Rollout's active and
// preview selectors: how many, all ready, and their image tag.
func (w *World) blueGreenSets(ctx context.Context, seconds int, name, ns string, nActive int, tagActive, nPreview, tagPreview string) error {
	e, err := w.engine(ctx)
	if err != nil {
		return err
	}
	want := engine.BlueGreen{Active: nActive, ActiveTag: tagActive, PreviewTag: tagPreview}
	if nPreview != "" { // else the preview part was left out
		n, err := strconv.Atoi(nPreview)
		if err != nil {
			return err
		}
		want.Preview = &n
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("blue-green rollout %s/%s with %d ready %s active", ns, name, nActive, tagActive),
		time.Duration(seconds)*time.Second, e.BlueGreenSets(ns, name, want))
	return err
}
