package steps

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/fixtures/workspace"
	"github.com/rehearse/rehearse/internal/await"
	"golang.org/x/sync/errgroup"
)

// capacityApplyWorkers is how many Applications are created at once.
const capacityApplyWorkers = 20

// capacityWait is how long BenchmarkCapacity waits for every Application.
const capacityWait = 20 * time.Minute

// capacityApps is how many Applications BenchmarkCapacity creates
// (REHEARSE_CAPACITY_APPS overrides it, for a quicker look).
func capacityApps() int {
	if n, err := strconv.Atoi(os.Getenv("REHEARSE_CAPACITY_APPS")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// capacityPoll is Argo CD's timeout.reconciliation for BenchmarkCapacity:
// the seed's 3 minutes unless REHEARSE_CAPACITY_POLL sets another (0
// disables polling, as Argo CD's docs suggest where webhooks deliver every
// change). Every poll re-compares every Application, a load that grows with
// their number whether anything changed or not.
func capacityPoll() (time.Duration, error) {
	v := os.Getenv("REHEARSE_CAPACITY_POLL")
	if v == "" {
		return 3 * time.Minute, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("REHEARSE_CAPACITY_POLL=%q: want a duration such as 3m, or 0 to disable polling", v)
	}
	return d, nil
}

// capacityClientQPS is the application controller's Kubernetes client rate
// limit (ARGOCD_K8S_CLIENT_QPS; the burst is twice it, as Argo CD derives
// it): REHEARSE_CAPACITY_QPS, or 0 for Argo CD's default of 50. Argo CD's
// high-availability guide raises it for controllers that manage many
// resources: every sync is a dry run and an apply per object, and each
// Application's status is patched several times.
func capacityClientQPS() (int, error) {
	v := os.Getenv("REHEARSE_CAPACITY_QPS")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("REHEARSE_CAPACITY_QPS=%q: want a number of requests per second, or 0 for Argo CD's default (50)", v)
	}
	return n, nil
}

// capacityProcessors are the application controller's status and
// operation processors and its kubectl parallelism limit
// (--kubectl-parallelism-limit, argocd-cmd-params-cm
// controller.kubectl.parallelism.limit): Argo CD's default 20 and 10
// processors and a kubectl limit of 50 instead of its default 20, unless
// REHEARSE_CAPACITY_PROCESSORS gives "STATUS/OPERATION" or
// "STATUS/OPERATION/KUBECTL". Goroutine dumps with the default limit
// showed most syncs queued on it while a quarter of the CPU sat idle;
// with 50, 826 Applications were done at 5 min instead of 639 to 701, and
// 100 did no better than 50. Argo CD's high-availability guide suggests
// 50 and 25 processors for 1,000 Applications: here, on two cores, that
// made more reconciliations (6,858 instead of about 5,400) and 653 done
// at 5 min.
func capacityProcessors() (status, operation, kubectl int, err error) {
	status, operation, kubectl = 20, 10, 50
	v := os.Getenv("REHEARSE_CAPACITY_PROCESSORS")
	if v == "" {
		return status, operation, kubectl, nil
	}
	refuse := fmt.Errorf("REHEARSE_CAPACITY_PROCESSORS=%q: want STATUS/OPERATION or STATUS/OPERATION/KUBECTL, such as 50/25 or 50/25/40", v)
	parts := strings.Split(v, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, refuse
	}
	var n []int
	for _, p := range parts {
		i, err := strconv.Atoi(p)
		if err != nil || i <= 0 {
			return 0, 0, 0, refuse
		}
		n = append(n, i)
	}
	status, operation = n[0], n[1]
	if len(n) == 3 {
		kubectl = n[2]
	}
	return status, operation, kubectl, nil
}

func qpsText(qps int) string {
	if qps == 0 {
		return "Argo CD's default 50 (burst 100)"
	}
	return fmt.Sprintf("%d (burst %d)", qps, 2*qps)
}

// capacitySyncOptions are the Applications' sync options. By default they
// carry Validate=false: with kubectl's client-side validation on, each
// applied object makes the controller fetch and decode the API server's
// OpenAPI v3 document again (kubernetes/kubernetes#127095), which a CPU
// profile of this benchmark put at about two thirds of the controller's
// time. REHEARSE_CAPACITY_VALIDATE=true measures Argo CD's default instead.
// They also carry ApplyOutOfSyncOnly=true (Argo CD's selective sync): a
// sync applies only the objects that differ from Git, one ConfigMap of ten
// after the benchmark's push, instead of all ten (measured with 1,000
// Applications: 791 instead of 749 done at 5 min, the push 43.9 s instead
// of 53.9 s); REHEARSE_CAPACITY_OUT_OF_SYNC_ONLY=false leaves it out.
// And ServerSideApply=true: with client-side apply, kubectl computes each
// patch from the API server's OpenAPI schema, which every apply reads
// and parses again (a goroutine dump 10 s after the push found the
// running syncs' applies doing that); server-side, the API server merges.
// Measured with 1,000 Applications: the push 37.6 s instead of 43.8 s, the
// controller 621 MB instead of 1,032 MB.
// REHEARSE_CAPACITY_SERVER_SIDE_APPLY=false leaves it out.
func capacitySyncOptions() string {
	var opts []string
	if validate, _ := strconv.ParseBool(os.Getenv("REHEARSE_CAPACITY_VALIDATE")); !validate {
		opts = append(opts, "Validate=false")
	}
	if v, err := strconv.ParseBool(os.Getenv("REHEARSE_CAPACITY_OUT_OF_SYNC_ONLY")); v || err != nil {
		opts = append(opts, "ApplyOutOfSyncOnly=true")
	}
	if v, err := strconv.ParseBool(os.Getenv("REHEARSE_CAPACITY_SERVER_SIDE_APPLY")); v || err != nil {
		opts = append(opts, "ServerSideApply=true")
	}
	return "[" + strings.Join(opts, ", ") + "]"
}

// capacityManifests are the 10 resources of each Application: a Deployment
// with no replicas (1,000 pods would need more simulated nodes than the
// capacity of three), its Service and eight ConfigMaps.
func capacityManifests(generation string) fstest.MapFS {
	fs := fstest.MapFS{}
	fs["deployment.yaml"] = &fstest.MapFile{Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 0
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: app
          image: 192.168.0.11:30800/qsign-prod/app:v1.0.0
`)}
	fs["service.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: app\nspec:\n  selector: {app: app}\n  ports: [{port: 8080}]\n")}
	for i := 1; i <= 8; i++ {
		fs[fmt.Sprintf("config-%d.yaml", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-%d\ndata:\n  generation: %q\n", i, generation))}
	}
	return fs
}

// BenchmarkCapacity puts 1,000 Applications of 10 resources each (100 on a
// "hot" path, 900 on a "cold" one) through the real Argo CD against one
// cluster: time until all are Synced and Healthy from cold, then the time
// for one push to the hot path to bring its 100 Applications to the new
// revision, and the stack's peak memory. The controller runs with Argo CD's
// defaults of 20 status and 10 operation processors and a kubectl
// parallelism limit of 50 (see capacityProcessors); the Applications skip
// client-side validation and apply server-side (see capacitySyncOptions).
//
// It runs on real time (scale 1): the poll compressed 60 times would refresh
// every Application every 3 s, a load 60 times production's, which on two
// cores saturates the controller from 50 Applications on. Changes arrive by
// webhook, as the seed's production setup does.
func BenchmarkCapacity(b *testing.B) {
	n := capacityApps()
	hot := n / 10
	syncOptions := capacitySyncOptions()
	poll, err := capacityPoll()
	if err != nil {
		b.Fatal(err)
	}
	qps, err := capacityClientQPS()
	if err != nil {
		b.Fatal(err)
	}
	statusProcessors, operationProcessors, kubectlParallelism, err := capacityProcessors()
	if err != nil {
		b.Fatal(err)
	}
	processors := fmt.Sprintf("%d status / %d operation processors, kubectl parallelism %d", statusProcessors, operationProcessors, kubectlParallelism)
	for i := 0; i < b.N; i++ {
		profileDir := os.Getenv("REHEARSE_CAPACITY_PROFILE")
		opts := []engine.Option{engine.WithPolling(poll, 0), engine.WithControllerArgs(
			"--status-processors", strconv.Itoa(statusProcessors), "--operation-processors", strconv.Itoa(operationProcessors),
			"--kubectl-parallelism-limit", strconv.Itoa(kubectlParallelism))}
		if qps > 0 {
			opts = append(opts, engine.WithControllerEnv(fmt.Sprintf("ARGOCD_K8S_CLIENT_QPS=%d", qps), fmt.Sprintf("ARGOCD_K8S_CLIENT_BURST=%d", 2*qps)))
		}
		if profileDir != "" {
			opts = append(opts, engine.WithProfiling())
		}
		w, e, cleanup := benchEnv(b, 1, opts...)
		ctx, stopWatching := context.WithCancel(context.Background())
		must := func(err error) {
			if err != nil {
				stopWatching()
				cleanup()
				b.Fatal(err)
			}
		}
		states, err := watchApps(ctx, e)
		must(err)
		s, err := w.gitServer()
		must(err)
		content := fstest.MapFS{}
		for path, f := range capacityManifests("1") {
			content["hot/"+path] = f
			content["cold/"+path] = f
		}
		_, err = s.CreateRepo("root/capacity", "main", content, adminUser, "1,000 applications' manifests")
		must(err)
		// Namespaces exist beforehand, as platform teams usually provide
		// them: with CreateNamespace each sync is two waves with Argo CD's
		// 2 s pause between them, and waits for the namespace's health.
		kube := e.Kube()
		for a := 0; a < n; a++ {
			_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cap-%04d", a)}}, metav1.CreateOptions{})
			must(err)
		}
		// The Applications arrive together, as an app-of-apps or an
		// ApplicationSet creates them (Argo CD applies with up to 20 kubectl
		// calls at once); one by one, the API server's latency under the
		// controller's load made creating them take 3 minutes.
		start := time.Now()
		var g errgroup.Group
		g.SetLimit(capacityApplyWorkers)
		for a := 0; a < n; a++ {
			path := "cold"
			if a < hot {
				path = "hot"
			}
			doc := fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: cap-%04d
  namespace: argocd
  annotations:
    # Webhook refreshes only the Applications whose path changed.
    argocd.argoproj.io/manifest-generate-paths: .
spec:
  project: default
  source: {repoURL: "http://192.168.0.11:7780/root/capacity.git", targetRevision: main, path: %s}
  destination: {server: "https://kubernetes.default.svc", namespace: cap-%04d}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: %s
`, a, path, a, syncOptions)
			g.Go(func() error {
				_, err := e.ApplyApplication(ctx, fmt.Sprintf("capacity app %d", a), []byte(doc), w.rewriter)
				return err
			})
		}
		must(g.Wait())
		applied := time.Since(start)
		if profileDir != "" {
			// The controller's CPU a minute into the run, when every
			// Application is being compared and synced.
			go saveProfile(ctx, e, "argocd-application-controller", time.Minute, profileDir)
			// What the processors wait on while the CPU is not yet saturated
			// (the first two minutes) and once it is.
			go saveGoroutines(ctx, e, "argocd-application-controller", 90*time.Second, profileDir, "initial-90s")
			go saveGoroutines(ctx, e, "argocd-application-controller", 4*time.Minute, profileDir, "initial-4m")
		}
		// The target is 5 minutes; the count then is reported, and the wait
		// goes on to capacityWait for the time until all are done.
		atTarget, _ := waitApps(ctx, states, n, 5*time.Minute-time.Since(start), func(*engine.Application) bool { return true })
		synced, err := waitApps(ctx, states, n, capacityWait-time.Since(start), func(*engine.Application) bool { return true })
		allSynced := time.Since(start)
		if err != nil {
			fmt.Printf("\ncapacity (%s, sync options %s, poll %s, client QPS %s): %d of %d Applications Synced and Healthy after 5 min, %d after %s: %v\n", processors, syncOptions, pollText(poll), qpsText(qps), atTarget, n, synced, allSynced.Round(time.Second), err)
			b.ReportMetric(float64(atTarget), "apps-synced-at-5min")
			b.ReportMetric(float64(synced), "apps-synced-at-end")
			peak, by := w.env.PeakRSS()
			fmt.Printf("peak stack RSS %d MB %v\n", peak>>20, mbOf(by))
			if n, err := reconciliations(ctx, e); err == nil {
				fmt.Printf("the controller completed %d reconciliations\n", n)
			}
			stopWatching()
			cleanup()
			b.FailNow()
		}

		ws, err := workspace.Clone(s.RepoURL("root/capacity"), "main", developerUser, w.passwords[developerUser])
		must(err)
		must(ws.WriteFile("hot/config-1.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-1\ndata:\n  generation: \"2\"\n")))
		sha, err := ws.Commit("Generation 2 of the hot applications")
		must(err)
		pushed := time.Now()
		must(ws.Push("main"))
		_ = ws.Close()
		if profileDir != "" {
			go saveGoroutines(ctx, e, "argocd-application-controller", 10*time.Second, profileDir, "push-10s")
			go saveGoroutines(ctx, e, "argocd-repo-server", 10*time.Second, profileDir, "push-10s")
		}
		// The ramp tells a webhook that reaches the Applications one after
		// another (a steady climb) from a few slow ones (a long tail).
		atNewRevision := func(app *engine.Application) bool {
			return app.Spec.Source != nil && app.Spec.Source.Path == "hot" && app.Status.Sync.Revision == sha
		}
		var ramp []string
		for _, want := range []int{hot / 10, hot / 2, hot} {
			if want == 0 {
				continue
			}
			_, err = waitApps(ctx, states, want, 5*time.Minute-time.Since(pushed), atNewRevision)
			must(err)
			ramp = append(ramp, fmt.Sprintf("%d in %s", want, time.Since(pushed).Round(100*time.Millisecond)))
		}
		hotSynced := time.Since(pushed)
		fmt.Printf("\ncapacity: after the push, hot Applications Synced at the new revision: %s\n", strings.Join(ramp, ", "))
		if first, last, refreshed := webhookRefreshes(e, pushed); refreshed > 0 {
			// argocd-server walks every Application of the repository one
			// after another for each push event (a refresh for those whose
			// paths changed, a manifest-cache move for the others), so the
			// last refresh says how much of the push time is that walk.
			fmt.Printf("capacity: argocd-server's webhook handler refreshed %d Applications between %s and %s after the push\n",
				refreshed, first.Round(100*time.Millisecond), last.Round(100*time.Millisecond))
			b.ReportMetric(last.Seconds(), "s-push-to-last-webhook-refresh")
		}
		peak, by := w.env.PeakRSS()
		if n, err := reconciliations(ctx, e); err == nil {
			b.ReportMetric(float64(n), "reconciliations")
			fmt.Printf("\ncapacity: the controller completed %d reconciliations\n", n)
		}
		b.ReportMetric(applied.Seconds(), "s-apply-all")
		b.ReportMetric(float64(atTarget), "apps-synced-at-5min")
		b.ReportMetric(allSynced.Seconds(), "s-all-synced-healthy")
		b.ReportMetric(hotSynced.Seconds(), "s-push-to-hot-synced")
		b.ReportMetric(float64(peak)/(1<<20), "MB-peak-stack-RSS")
		fmt.Printf("\ncapacity: %d Applications x 10 resources (%s, sync options %s, poll %s, client QPS %s); applied in %s; all Synced and Healthy %s after the first apply (%d seen);"+
			" one push -> %d hot Applications Synced at the new revision in %s; peak stack RSS %d MB %v\n",
			n, processors, syncOptions, pollText(poll), qpsText(qps), applied.Round(time.Millisecond), allSynced.Round(time.Second), synced, hot, hotSynced.Round(time.Millisecond), peak>>20, mbOf(by))
		stopWatching()
		cleanup()
	}
}

func pollText(poll time.Duration) string {
	if poll == 0 {
		return "off, webhooks only"
	}
	return poll.String()
}

// saveProfile writes a 60 s CPU profile of an Argo CD component, taken
// after a delay, to dir.
func saveProfile(ctx context.Context, e *engine.Engine, component string, after time.Duration, dir string) {
	saveDebug(ctx, e, component, after, "/debug/pprof/profile?seconds=60", filepath.Join(dir, component+".cpu.pprof"), "CPU profile")
}

// saveGoroutines writes a component's goroutine stacks, taken after a
// delay, to dir: where its processors wait (the API server, the
// repo-server, a lock) when its CPU profile shows it idle.
func saveGoroutines(ctx context.Context, e *engine.Engine, component string, after time.Duration, dir, label string) {
	saveDebug(ctx, e, component, after, "/debug/pprof/goroutine?debug=1", filepath.Join(dir, component+"."+label+".goroutines.txt"), "goroutine stacks")
}

// saveDebug fetches one of a component's /debug/pprof pages after a delay
// and writes it to path; it says so, or why not, on the benchmark's output
// (a missing profile must not fail the measurement).
func saveDebug(ctx context.Context, e *engine.Engine, component string, after time.Duration, page, path, what string) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(after):
	}
	base, err := e.MetricsURL(component)
	if err != nil {
		fmt.Println(what+":", err)
		return
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+page, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(what+":", err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Println(what+":", resp.Status, err)
		return
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		fmt.Println(what+":", err)
		return
	}
	fmt.Println(what, "of", component, "in", path)
}

// webhookRefreshes reads argocd-server's log for the refreshes its webhook
// handler made since the push: how many, and when the first and the last
// were made.
func webhookRefreshes(e *engine.Engine, pushed time.Time) (first, last time.Duration, n int) {
	for _, l := range e.LogLines("argocd-server", pushed) {
		if !strings.Contains(l.Message, "from webhook") || !strings.HasPrefix(l.Message, "refreshing app") {
			continue
		}
		at := l.Time.Sub(pushed)
		if n == 0 {
			first = at
		}
		last = at
		n++
	}
	return first, last, n
}

// reconciliations is how many Application reconciliations the controller
// has completed (its argocd_app_reconcile histogram's count).
func reconciliations(ctx context.Context, e *engine.Engine) (int, error) {
	base, err := e.MetricsURL("argocd-application-controller")
	if err != nil {
		return 0, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "argocd_app_reconcile_count") {
			fields := strings.Fields(line)
			if n, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
				total += int(n)
			}
		}
	}
	return total, nil
}

func mbOf(by map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range by {
		out[k] = v >> 20
	}
	return out
}

// appStates holds every Application's latest state, kept by one watch.
type appStates struct {
	mu   sync.Mutex
	apps map[string]*engine.Application
}

func watchApps(ctx context.Context, e *engine.Engine) (*appStates, error) {
	s := &appStates{apps: map[string]*engine.Application{}}
	return s, e.WatchApplications(ctx, func(app *engine.Application) {
		s.mu.Lock()
		s.apps[app.Name] = app
		s.mu.Unlock()
	})
}

// waitApps waits until want Applications are Synced and Healthy and match.
func waitApps(ctx context.Context, states *appStates, want int, timeout time.Duration, match func(*engine.Application) bool) (int, error) {
	got := 0
	_, err := await.EventuallyEvery(ctx, fmt.Sprintf("%d Applications Synced and Healthy", want), timeout, 250*time.Millisecond,
		func(ctx context.Context) await.Result {
			states.mu.Lock()
			defer states.mu.Unlock()
			got = 0
			for _, app := range states.apps {
				if app.Status.Sync.Status == "Synced" && app.Status.Health.Status == "Healthy" && match(app) {
					got++
				}
			}
			if got >= want {
				return await.Passed("%d of %d", got, len(states.apps))
			}
			return await.Waiting("%d of %d Synced and Healthy", got, len(states.apps))
		})
	return got, err
}

func TestCapacityProcessorsSetting(t *testing.T) {
	for _, tc := range []struct {
		value                      string
		status, operation, kubectl int
		wantErr                    bool
	}{
		{value: "", status: 20, operation: 10, kubectl: 50},
		{value: "50/25", status: 50, operation: 25, kubectl: 50},
		{value: "20/10/50", status: 20, operation: 10, kubectl: 50},
		{value: "50", wantErr: true},
		{value: "50/25/40/1", wantErr: true},
		{value: "50/x", wantErr: true},
		{value: "0/10", wantErr: true},
	} {
		t.Run(tc.value, func(t *testing.T) {
			t.Setenv("REHEARSE_CAPACITY_PROCESSORS", tc.value)
			status, operation, kubectl, err := capacityProcessors()
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "REHEARSE_CAPACITY_PROCESSORS") {
					t.Fatalf("want an error naming REHEARSE_CAPACITY_PROCESSORS, got %v", err)
				}
				return
			}
			if err != nil || status != tc.status || operation != tc.operation || kubectl != tc.kubectl {
				t.Fatalf("got %d/%d/%d, %v; want %d/%d/%d", status, operation, kubectl, err, tc.status, tc.operation, tc.kubectl)
			}
		})
	}
}
