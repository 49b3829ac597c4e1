package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/rehearse/rehearse/clusters/podwatch"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/fixtures/ci"
	"github.com/rehearse/rehearse/fixtures/gateway"
	"github.com/rehearse/rehearse/fixtures/gitserver"
	"github.com/rehearse/rehearse/fixtures/hooksink"
	"github.com/rehearse/rehearse/fixtures/mailsink"
	"github.com/rehearse/rehearse/fixtures/traffic"
	"github.com/rehearse/rehearse/fixtures/workspace"
	"github.com/rehearse/rehearse/internal/loopback"
	"github.com/rehearse/rehearse/reports"
	"github.com/rehearse/rehearse/reports/sequence"
)

// Accounts on every scenario's Git server. Argo CD uses its own account so
// the access log tells its clones apart from people's.
const (
	adminUser     = "root"
	developerUser = "developer"
	argocdUser    = "argocd"
	jenkinsUser   = "jenkins"
)

// World is one scenario's state. Nothing in it is shared with another
// scenario: each has its own Git server, rewrite table and credentials.
type World struct {
	env      *lane.Lane
	scenario string
	id       string // short unique id for names the scenario creates

	git       *gitserver.Server
	mail      *mailsink.Sink
	hooks     *hooksink.Sink
	passwords map[string]string
	rewriter  *loopback.Rewriter

	apps          []string // Applications to delete at the end
	secrets       []string
	newNamespaces map[string]bool               // namespaces that did not exist when the scenario began
	lastErr       error                         // outcome of the last "tries to" step
	featureDir    string                        // directory of the running feature file
	projectDir    string                        // the user's project root (RunOptions.ProjectDir)
	standInsSet   bool                          // the scenario declared stand-ins (reset at its end)
	finally       []func(context.Context) error // run at cleanup after the Applications are deleted
	versionReader traffic.VersionReader         // where users ask and how they read the version
	lastPush      pushEvent                     // the scenario's latest push, for "after the push" checks
	commits       map[string]string             // commit message -> SHA of the scenario's pushes ("initial <repo>" too)

	harbor        string                        // the seed's registry host (the first mapped), once mapped
	registryHosts []string                      // every host mapped to the local registry
	ci            *ci.Runner                    // the scenario's Jenkins
	appPush       pushEvent                     // the developer's last push to an app repository
	lastBuild     ci.BuildView                  // the build the last "Jenkins build ... has" step saw end
	podRecorders  map[string]*podwatch.Recorder // by "cluster/namespace": destinations of applied Applications
	notes         []string                      // measurements for the report
	undo          []func(context.Context) error // shared settings to restore, last first
	integration   *integrationRun               // the last integration test run
	mr            *gitserver.MergeRequest       // the scenario's merge request

	prom          *prometheus                   // the scenario's Prometheus
	users         map[string]*traffic.Generator // the seed's Users, by Service or HTTPRoute
	gateway       *gateway.Controller           // the load balancer, once a GatewayClass is handed to it
	gatewayClient gwclient.Interface            // the Gateway API client it watches with
	strategy      *reports.StrategyRow          // the strategy-table row measured
	rollouts      map[string]*rolloutRecorder   // by namespace
	mailDownAt    time.Time

	started  time.Time         // when the scenario began, for log windows
	events   []sequence.Event  // interactions steps performed as people
	appRoles map[string]string // Application -> role of its destination cluster
}

// note records a measurement or observation for the report.
func (w *World) note(format string, args ...any) {
	w.notes = append(w.notes, fmt.Sprintf(format, args...))
}

// watchPods starts recording the pods of ns in a destination cluster, once
// per scenario.
func (w *World) watchPods(ctx context.Context, cluster, ns string) error {
	key := recorderKey(cluster, ns)
	if ns == "" || w.podRecorders[key] != nil || w.env.Engine() == nil {
		return nil
	}
	kube, err := w.kube(ctx, cluster)
	if err != nil {
		return err
	}
	rec, err := podwatch.Start(ctx, kube, ns)
	if err != nil {
		return err
	}
	w.podRecorders[key] = rec
	return nil
}

func recorderKey(cluster, ns string) string {
	if cluster == "" {
		cluster = lane.InCluster
	}
	return cluster + "/" + ns
}

// kube is a client of a destination cluster by its Argo CD name (""
// is the cluster Argo CD runs in).
func (w *World) kube(ctx context.Context, cluster string) (kubernetes.Interface, error) {
	c, err := w.env.DestinationCluster(ctx, cluster)
	if err != nil {
		return nil, err
	}
	if cluster == "" || cluster == lane.InCluster {
		return w.env.Engine().Kube(), nil
	}
	return kubernetes.NewForConfig(c.RESTConfig())
}

type pushEvent struct {
	at         time.Time
	repo, sha  string
	podsBefore map[types.UID]bool // pods that existed when the push landed
}

func newWorld(env *lane.Lane, scenario, id string) *World {
	return &World{env: env, scenario: scenario, id: id, rewriter: loopback.NewRewriter(),
		passwords: map[string]string{adminUser: "admin-" + id, developerUser: "dev-" + id, argocdUser: "argocd-" + id,
			jenkinsUser: "jenkins-" + id, leadUser: "lead-" + id},
		newNamespaces: map[string]bool{}, commits: map[string]string{}, podRecorders: map[string]*podwatch.Recorder{},
		appRoles: map[string]string{}, users: map[string]*traffic.Generator{},
		rollouts: map[string]*rolloutRecorder{}}
}

func (w *World) engine(ctx context.Context) (*engine.Engine, error) {
	if err := w.env.Start(ctx); err != nil {
		return nil, err
	}
	return w.env.Engine(), nil
}

// gitServer starts the scenario's Git server on first use.
func (w *World) gitServer() (*gitserver.Server, error) {
	if w.git != nil {
		return w.git, nil
	}
	opts := []gitserver.Option{}
	for u, p := range w.passwords {
		opts = append(opts, gitserver.WithUser(u, p))
	}
	s, err := gitserver.Start(opts...)
	if err != nil {
		return nil, err
	}
	w.git = s
	return s, nil
}

// cleanup removes what the scenario created, so the next one starts clean.
func (w *World) cleanup(ctx context.Context) error {
	var errs []string
	for i := len(w.undo) - 1; i >= 0; i-- {
		if err := w.undo[i](ctx); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if w.env.Engine() != nil {
		e := w.env.Engine()
		for _, app := range w.apps {
			if err := e.DeleteApplication(ctx, app, 60*time.Second); err != nil {
				errs = append(errs, err.Error())
			}
		}
		for _, s := range w.secrets {
			if err := e.Kube().CoreV1().Secrets(engine.Namespace).Delete(ctx, s, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err.Error())
			}
		}
		// Namespaces the scenario caused to exist stay, emptied by the
		// cascading Application deletes: deleting one costs 5s or more
		// (the namespace controller's grace period), and only scenarios that
		// need it absent pay that. The run deletes them at its end.
		w.env.AdoptNamespaces(w.newNamespaces)
	}
	// Last: what Applications needed while they were deleted (their
	// AppProject, Argo CD's settings).
	for i := len(w.finally) - 1; i >= 0; i-- {
		if err := w.finally[i](ctx); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if w.ci != nil {
		_ = w.ci.Close()
	}
	for _, g := range w.users {
		g.Stop()
	}
	if w.gateway != nil {
		w.gateway.Stop()
	}
	for _, r := range w.rollouts {
		r.close()
	}
	if w.prom != nil {
		w.prom.stop()
		_ = w.prom.server.Close()
	}
	for _, rec := range w.podRecorders {
		rec.Stop()
	}
	if w.git != nil {
		_ = w.git.Close()
	}
	if w.mail != nil {
		_ = w.mail.Close()
	}
	if w.hooks != nil {
		_ = w.hooks.Close()
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleaning up after %q: %s", w.scenario, strings.Join(errs, "; "))
	}
	return nil
}

// rememberDestination records a destination namespace the scenario may
// cause to be created in the cluster Argo CD runs in, if it does not exist
// yet, and starts recording the destination's pods.
func (w *World) rememberDestination(ctx context.Context, app string, d engine.Destination) error {
	if d.Namespace == "" || w.env.Engine() == nil {
		return nil
	}
	cluster := d.Name
	w.appRoles[app] = sequence.Kubernetes
	if cluster != "" && cluster != lane.InCluster {
		w.appRoles[app] = sequence.ClusterRole(cluster)
	}
	if d.Server != "" && d.Server != "https://kubernetes.default.svc" {
		return nil // a server URL Rehearse does not know: nothing to record
	}
	if cluster == "" || cluster == lane.InCluster {
		_, err := w.env.Engine().Kube().CoreV1().Namespaces().Get(ctx, d.Namespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			w.newNamespaces[d.Namespace] = true
		}
	}
	return w.watchPods(ctx, cluster, d.Namespace)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// readFromGit reads one file of a hosted repository at main's head, as the
// admin sees it.
func (w *World) readFromGit(repo, file string) ([]byte, error) {
	s, err := w.gitServer()
	if err != nil {
		return nil, err
	}
	ws, err := workspace.Clone(s.RepoURL(repo), "main", adminUser, w.passwords[adminUser])
	if err != nil {
		return nil, fmt.Errorf("cloning %s: %w", repo, err)
	}
	defer ws.Close()
	doc, err := ws.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", file, repo, err)
	}
	return doc, nil
}

// rememberPush records a push someone other than the developer made (the
// CI's chart commit), with the pods the recordings saw created before it.
func (w *World) rememberPush(at time.Time, repo, sha string) {
	w.lastPush = pushEvent{at: at, repo: repo, sha: sha, podsBefore: map[types.UID]bool{}}
	for _, rec := range w.podRecorders {
		for _, p := range rec.Pods() {
			if p.Created.Before(at) {
				w.lastPush.podsBefore[p.UID] = true
			}
		}
	}
}

// commaList splits a step's "A, B, C" argument into its trimmed items,
// empty ones left out.
func commaList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
