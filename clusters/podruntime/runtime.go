package podruntime

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/rehearse/rehearse/internal/logging"
	"github.com/rehearse/rehearse/internal/loopback"
)

// LifecycleAnnotation on a pod chooses who plays its lifecycle; the value
// "simulated" leaves it to KWOK.
const LifecycleAnnotation = "rehearse.dev/pod-lifecycle"

// Options configure a Runtime.
type Options struct {
	// Mirrors maps registry URLs ("http://192.168.0.11:30800/") to local
	// registries. An image whose registry is neither mapped nor local
	// fails to pull without a packet sent.
	Mirrors *loopback.Rewriter
	// Credentials are the nodes' own registry logins, by registry host as
	// written in image references or by the mirror's host (like a
	// kubelet's config.json or containerd's hosts configuration).
	Credentials map[string]Credential
	// ManagesNode says which nodes this runtime plays the kubelet for.
	ManagesNode func(*corev1.Node) bool
	// Dir holds unpacked images and container logs.
	Dir string
	Log logging.Logger
	// PullBackoff is the first delay before retrying a failed pull and
	// CrashBackoff the first before restarting a failed container; both
	// double up to five minutes, as the kubelet's do.
	PullBackoff, CrashBackoff time.Duration
	// StandIns declares the images that run Rehearse's stand-in program
	// instead of being pulled (nil: none).
	StandIns *StandIns
	// Helper is the rehearse-container program (BuildHelper): the stand-in
	// and the shell for sh -c commands. Without it such containers fail
	// with a message saying so.
	Helper string
	// Addresses is the pod IP pool; share one between the runtimes of
	// clusters in the same process (default: a pool of its own).
	Addresses *AddressPool
}

// Credential is a registry login.
type Credential struct{ Username, Password string }

// Runtime plays the kubelet for simulated nodes.
type Runtime struct {
	opts    Options
	cs      kubernetes.Interface
	pool    *AddressPool
	images  *imageStore
	probe   *http.Client
	stop    context.CancelFunc
	done    sync.WaitGroup
	factory informers.SharedInformerFactory
	// resolver is the Service resolver's URL (ResolverEnv).
	resolver string

	mu      sync.Mutex
	workers map[types.UID]*worker
	nodes   map[string]bool
}

// Start watches the cluster's pods and runs those on managed nodes.
func Start(ctx context.Context, cfg *rest.Config, opts Options) (*Runtime, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("podruntime: no directory")
	}
	if opts.Mirrors == nil {
		opts.Mirrors = loopback.NewRewriter()
	}
	if opts.PullBackoff == 0 {
		opts.PullBackoff = 10 * time.Second
	}
	if opts.CrashBackoff == 0 {
		opts.CrashBackoff = 10 * time.Second
	}
	if opts.ManagesNode == nil {
		opts.ManagesNode = func(*corev1.Node) bool { return true }
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 200, 400
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	if opts.Addresses == nil {
		opts.Addresses = &AddressPool{}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &Runtime{opts: opts, cs: cs, stop: cancel, pool: opts.Addresses, workers: map[types.UID]*worker{}, nodes: map[string]bool{},
		images: newImageStore(filepath.Join(opts.Dir, "images"), opts.Mirrors),
		probe:  &http.Client{Transport: &http.Transport{DialContext: Dial, DisableKeepAlives: true}}}
	if r.resolver, err = r.startResolver(runCtx); err != nil {
		cancel()
		return nil, err
	}
	r.factory = informers.NewSharedInformerFactory(cs, 0)
	nodeInf := r.factory.Core().V1().Nodes().Informer()
	podInf := r.factory.Core().V1().Pods().Informer()
	if _, err := nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { r.nodeSeen(o) },
		UpdateFunc: func(_, o any) { r.nodeSeen(o) },
	}); err != nil {
		cancel()
		return nil, err
	}
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { r.podSeen(runCtx, o) },
		UpdateFunc: func(_, o any) { r.podSeen(runCtx, o) },
		DeleteFunc: func(o any) { r.podGone(o) },
	}); err != nil {
		cancel()
		return nil, err
	}
	r.factory.Start(runCtx.Done())
	syncCtx, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), nodeInf.HasSynced, podInf.HasSynced) {
		r.Stop()
		return nil, fmt.Errorf("podruntime: pod and node caches did not sync within 30s")
	}
	// Pods seen before their node was known get another look.
	for _, o := range podInf.GetStore().List() {
		r.podSeen(runCtx, o)
	}
	return r, nil
}

// Stop kills every container and stops watching. Pods keep their last
// status: the cluster is going away with them.
func (r *Runtime) Stop() {
	r.stop()
	r.factory.Shutdown()
	r.mu.Lock()
	ws := make([]*worker, 0, len(r.workers))
	for _, w := range r.workers {
		ws = append(ws, w)
	}
	r.mu.Unlock()
	for _, w := range ws {
		w.cancel()
	}
	r.done.Wait()
}

// Containers returns how many containers run now.
func (r *Runtime) Containers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, w := range r.workers {
		n += w.running()
	}
	return n
}

// RSS sums the resident memory of every container process.
func (r *Runtime) RSS() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var total uint64
	for _, w := range r.workers {
		total += w.rss()
	}
	return total
}

func (r *Runtime) logf(format string, args ...any) {
	if r.opts.Log != nil {
		r.opts.Log.Printf(format, args...)
	}
}

func (r *Runtime) nodeSeen(o any) {
	n, ok := o.(*corev1.Node)
	if !ok {
		return
	}
	r.mu.Lock()
	r.nodes[n.Name] = r.opts.ManagesNode(n)
	r.mu.Unlock()
}

func (r *Runtime) podSeen(ctx context.Context, o any) {
	pod, ok := o.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" || pod.Annotations[LifecycleAnnotation] == "simulated" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.nodes[pod.Spec.NodeName] {
		return
	}
	w, exists := r.workers[pod.UID]
	if !exists {
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			return
		}
		w = newWorker(r, pod)
		r.workers[pod.UID] = w
		r.done.Add(1)
		go func() {
			defer r.done.Done()
			w.run(ctx)
			r.mu.Lock()
			delete(r.workers, pod.UID)
			r.mu.Unlock()
		}()
	}
	if pod.DeletionTimestamp != nil {
		w.terminate(pod.DeletionGracePeriodSeconds)
	}
}

func (r *Runtime) podGone(o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	w := r.workers[pod.UID]
	r.mu.Unlock()
	if w != nil {
		w.cancel()
	}
}

// event records a Kubernetes Event about a pod, as the kubelet would.
func (r *Runtime) event(pod *corev1.Pod, kind, reason, msg string) {
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: pod.Name + ".", Namespace: pod.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name,
			UID: pod.UID, APIVersion: "v1"},
		Reason: reason, Message: msg, Type: kind, Count: 1,
		FirstTimestamp: now, LastTimestamp: now,
		Source: corev1.EventSource{Component: "kubelet", Host: pod.Spec.NodeName},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.cs.CoreV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		r.logf("podruntime: event %s for %s/%s: %v", reason, pod.Namespace, pod.Name, err)
	}
}
