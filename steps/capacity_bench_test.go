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
func capacitySyncOptions() string {
	var opts []string
	if validate, _ := strconv.ParseBool(os.Getenv("REHEARSE_CAPACITY_VALIDATE")); !validate {
		opts = append(opts, "Validate=false")
	}
	if v, err := strconv.ParseBool(os.Getenv("REHEARSE_CAPACITY_OUT_OF_SYNC_ONLY")); v || err != nil {
		opts = append(opts, "ApplyOutOfSyncOnly=true")
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
// defaults of 20 status and 10 operation processors; the Applications skip
// client-side validation (see capacitySyncOptions).
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
	for i := 0; i < b.N; i++ {
		profileDir := os.Getenv("REHEARSE_CAPACITY_PROFILE")
		opts := []engine.Option{engine.WithPolling(poll, 0)}
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
		}
		// The target is 5 minutes; the count then is reported, and the wait
		// goes on to capacityWait for the time until all are done.
		atTarget, _ := waitApps(ctx, states, n, 5*time.Minute-time.Since(start), func(*engine.Application) bool { return true })
		synced, err := waitApps(ctx, states, n, capacityWait-time.Since(start), func(*engine.Application) bool { return true })
		allSynced := time.Since(start)
		if err != nil {
			fmt.Printf("\ncapacity (sync options %s, poll %s, client QPS %s): %d of %d Applications Synced and Healthy after 5 min, %d after %s: %v\n", syncOptions, pollText(poll), qpsText(qps), atTarget, n, synced, allSynced.Round(time.Second), err)
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
		_, err = waitApps(ctx, states, hot, 5*time.Minute, func(app *engine.Application) bool {
			return app.Spec.Source != nil && app.Spec.Source.Path == "hot" && app.Status.Sync.Revision == sha
		})
		must(err)
		hotSynced := time.Since(pushed)
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
		fmt.Printf("\ncapacity: %d Applications x 10 resources (sync options %s, poll %s, client QPS %s); applied in %s; all Synced and Healthy %s after the first apply (%d seen);"+
			" one push -> %d hot Applications Synced at the new revision in %s; peak stack RSS %d MB %v\n",
			n, syncOptions, pollText(poll), qpsText(qps), applied.Round(time.Millisecond), allSynced.Round(time.Second), synced, hot, hotSynced.Round(time.Millisecond), peak>>20, mbOf(by))
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
	time.Sleep(after)
	base, err := e.MetricsURL(component)
	if err != nil {
		fmt.Println("profile:", err)
		return
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/profile?seconds=60", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println("profile:", err)
		return
	}
	defer resp.Body.Close()
	path := filepath.Join(dir, component+".cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		fmt.Println("profile:", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		fmt.Println("profile:", resp.Status, err)
		return
	}
	fmt.Println("profile: CPU profile of", component, "in", path)
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
