package kwok

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/rehearse/rehearse/clusters"
	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/internal/binaries"
	"github.com/rehearse/rehearse/internal/logging"
	"github.com/rehearse/rehearse/internal/loopback"
	"github.com/rehearse/rehearse/internal/proc"
)

//go:embed stages.yaml
var stagesYAML []byte

// NodeAnnotation marks the nodes the kwok controller plays.
const NodeAnnotation = "kwok.x-k8s.io/node"

// Option configures the provider.
type Option func(*Provider)

// WithVersions overrides the component versions.
func WithVersions(kubernetes, etcd, kwok string) Option {
	return func(p *Provider) { p.kubeVersion, p.etcdVersion, p.kwokVersion = kubernetes, etcd, kwok }
}

// WithNodes sets how many simulated nodes each cluster gets (default 3).
func WithNodes(n int) Option { return func(p *Provider) { p.nodes = n } }

// WithLogger receives build and start progress.
func WithLogger(l logging.Logger) Option { return func(p *Provider) { p.log = l } }

// WithCache sets where binaries are built and cached.
func WithCache(c *binaries.Cache) Option { return func(p *Provider) { p.cache = c } }

// WithPodRuntime makes each cluster run its pods for real (images pulled,
// programs started, probes executed) with Rehearse's pod runtime, instead of
// KWOK marking them Ready at once. Pods annotated
// rehearse.dev/pod-lifecycle=simulated are still KWOK's.
func WithPodRuntime(opts podruntime.Options) Option {
	return func(p *Provider) { o := opts; p.runtime = &o }
}

// WithStartTimeout bounds how long one cluster may take to become ready.
func WithStartTimeout(d time.Duration) Option { return func(p *Provider) { p.startTimeout = d } }

// Provider creates KWOK clusters.
type Provider struct {
	kubeVersion, etcdVersion, kwokVersion string
	nodes                                 int
	log                                   logging.Logger
	cache                                 *binaries.Cache
	startTimeout                          time.Duration
	runtime                               *podruntime.Options
	// portMu serialises port selection between clusters of this process.
	portMu sync.Mutex
}

// New returns a provider with the default, tested versions.
func New(opts ...Option) (*Provider, error) {
	p := &Provider{
		kubeVersion: DefaultKubernetesVersion, etcdVersion: DefaultEtcdVersion, kwokVersion: DefaultKwokVersion,
		nodes: 3, startTimeout: 90 * time.Second,
	}
	for _, o := range opts {
		o(p)
	}
	if p.cache == nil {
		root, err := binaries.DefaultRoot()
		if err != nil {
			return nil, err
		}
		p.cache = &binaries.Cache{Root: root, Log: p.log}
	}
	return p, nil
}

// Recipes lists everything this backend needs built.
func (p *Provider) Recipes() []binaries.Recipe {
	return []binaries.Recipe{EtcdRecipe(p.etcdVersion), KwokRecipe(p.kwokVersion), KubernetesRecipe(p.kubeVersion)}
}

// Prepare builds any missing binary (minutes, once per machine).
func (p *Provider) Prepare(ctx context.Context) error {
	for _, r := range p.Recipes() {
		if _, err := p.cache.Ensure(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// Cluster is one running KWOK cluster.
type Cluster struct {
	name       string
	dir        string
	kubeconfig string
	rest       *rest.Config
	procs      proc.Group
	runtime    *podruntime.Runtime
	once       sync.Once
}

// PodRuntime is the cluster's pod runtime, nil when KWOK plays every pod.
func (c *Cluster) PodRuntime() *podruntime.Runtime { return c.runtime }

func (c *Cluster) Name() string             { return c.name }
func (c *Cluster) KubeconfigPath() string   { return c.kubeconfig }
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest) }

// RSS reports each component's resident memory in bytes; "containers" is
// the sum over the pods' processes.
func (c *Cluster) RSS() map[string]uint64 {
	m := c.procs.RSS()
	if c.runtime != nil {
		m["containers"] = c.runtime.RSS()
	}
	return m
}

// Dir is the cluster's working directory (logs, certificates, etcd data).
func (c *Cluster) Dir() string { return c.dir }

// Delete stops every process and removes the working directory.
func (c *Cluster) Delete(context.Context) error {
	var err error
	c.once.Do(func() {
		if c.runtime != nil {
			c.runtime.Stop()
		}
		c.procs.StopAll(5 * time.Second)
		err = os.RemoveAll(c.dir)
	})
	return err
}

type ports struct{ etcd, etcdPeer, apiserver, kcm, scheduler, kwok int }

func (p *Provider) pickPorts() (ports, error) {
	p.portMu.Lock()
	defer p.portMu.Unlock()
	var ps [6]int
	seen := map[int]bool{}
	for i := range ps {
		for {
			n, err := loopback.FreePort()
			if err != nil {
				return ports{}, err
			}
			if !seen[n] {
				seen[n], ps[i] = true, n
				break
			}
		}
	}
	return ports{ps[0], ps[1], ps[2], ps[3], ps[4], ps[5]}, nil
}

// Create starts a new cluster and returns once the default ServiceAccount
// exists. On any failure everything already started is torn down.
func (p *Provider) Create(ctx context.Context, name string) (clusters.Cluster, error) {
	if err := p.Prepare(ctx); err != nil {
		return nil, err
	}
	c, err := p.start(ctx, name)
	if err != nil {
		if c != nil {
			_ = c.Delete(context.Background())
		}
		return nil, fmt.Errorf("kwok cluster %q: %w", name, err)
	}
	return c, nil
}

func (p *Provider) bin(r binaries.Recipe, name string) string { return p.cache.Path(r, name) }

func (p *Provider) start(ctx context.Context, name string) (*Cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, p.startTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "rehearse-kwok-"+name+"-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{name: name, dir: dir}
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return c, err
	}
	certs, err := newPKI(dir)
	if err != nil {
		return c, err
	}
	pt, err := p.pickPorts()
	if err != nil {
		return c, err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(pt.apiserver)
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(c.kubeconfig, name, server, certs); err != nil {
		return c, err
	}
	if c.rest, err = clientcmd.BuildConfigFromFlags("", c.kubeconfig); err != nil {
		return c, err
	}
	c.rest.QPS, c.rest.Burst = 200, 400

	k8s, etcdR, kwokR := KubernetesRecipe(p.kubeVersion), EtcdRecipe(p.etcdVersion), KwokRecipe(p.kwokVersion)
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(pt.etcd)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(pt.etcdPeer)
	if _, err := c.procs.Start(proc.Spec{Name: "etcd", Path: p.bin(etcdR, "etcd"), LogDir: logs, Args: []string{
		"--name=node0", "--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=node0=" + peerURL, "--listen-metrics-urls=",
		// A throwaway cluster needs no durability; fsync dominates its latency.
		"--unsafe-no-fsync", "--quota-backend-bytes=8589934592", "--log-level=warn",
	}}); err != nil {
		return c, err
	}
	if err := c.procs.WaitFor(ctx, "etcd health", 50*time.Millisecond, proc.HTTPOK(etcdURL+"/health")); err != nil {
		return c, err
	}

	if _, err := c.procs.Start(proc.Spec{Name: "kube-apiserver", Path: p.bin(k8s, "kube-apiserver"), LogDir: logs, Args: []string{
		"--etcd-servers=" + etcdURL, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(pt.apiserver),
		"--service-cluster-ip-range=10.96.0.0/12",
		"--client-ca-file=" + certs.caCert, "--tls-cert-file=" + certs.serverCert, "--tls-private-key-file=" + certs.serverKey,
		"--service-account-key-file=" + certs.saPub, "--service-account-signing-key-file=" + certs.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--authorization-mode=Node,RBAC", "--allow-privileged=true",
		// The lease reconciler refuses a loopback advertise address; nothing
		// here reaches the API through the kubernetes Service anyway.
		"--endpoint-reconciler-type=none",
		"--max-requests-inflight=1000", "--max-mutating-requests-inflight=500",
	}}); err != nil {
		return c, err
	}
	cs, err := kubernetes.NewForConfig(c.rest)
	if err != nil {
		return c, err
	}
	if err := c.procs.WaitFor(ctx, "kube-apiserver /readyz", 100*time.Millisecond, func(ctx context.Context) error {
		return cs.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	}); err != nil {
		return c, err
	}

	common := []string{"--kubeconfig=" + c.kubeconfig, "--authentication-kubeconfig=" + c.kubeconfig,
		"--authorization-kubeconfig=" + c.kubeconfig, "--bind-address=127.0.0.1", "--leader-elect=false"}
	if _, err := c.procs.Start(proc.Spec{Name: "kube-controller-manager", Path: p.bin(k8s, "kube-controller-manager"), LogDir: logs,
		Args: append(append([]string{}, common...),
			"--secure-port="+strconv.Itoa(pt.kcm),
			"--root-ca-file="+certs.caCert, "--service-account-private-key-file="+certs.saKey,
			"--cluster-signing-cert-file="+certs.caCert, "--cluster-signing-key-file="+certs.caKey,
			"--use-service-account-credentials=false",
			"--kube-api-qps=500", "--kube-api-burst=1000",
		)}); err != nil {
		return c, err
	}
	if _, err := c.procs.Start(proc.Spec{Name: "kube-scheduler", Path: p.bin(k8s, "kube-scheduler"), LogDir: logs,
		Args: append(append([]string{}, common...), "--secure-port="+strconv.Itoa(pt.scheduler))}); err != nil {
		return c, err
	}
	stages := filepath.Join(dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, podStages(stagesYAML, p.runtime != nil), 0o644); err != nil {
		return c, err
	}
	if _, err := c.procs.Start(proc.Spec{Name: "kwok", Path: p.bin(kwokR, "kwok"), LogDir: logs, Args: []string{
		"--kubeconfig=" + c.kubeconfig, "--config=" + stages,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=" + NodeAnnotation + "=fake",
		"--manage-nodes-with-label-selector=",
		"--server-address=127.0.0.1:" + strconv.Itoa(pt.kwok),
		"--node-ip=127.0.0.1", "--cidr=10.244.0.1/16", "--node-lease-duration-seconds=40",
	}}); err != nil {
		return c, err
	}
	for i := 0; i < p.nodes; i++ {
		if _, err := cs.CoreV1().Nodes().Create(ctx, simulatedNode(fmt.Sprintf("kwok-node-%d", i)), metav1.CreateOptions{}); err != nil {
			return c, fmt.Errorf("creating simulated node: %w", err)
		}
	}
	if err := c.procs.WaitFor(ctx, "ServiceAccount default/default", 50*time.Millisecond, func(ctx context.Context) error {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return c, err
	}
	if err := c.procs.WaitFor(ctx, "simulated nodes Ready", 50*time.Millisecond, func(ctx context.Context) error {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, n := range nodes.Items {
			if !nodeReady(&n) {
				return fmt.Errorf("node %s not Ready", n.Name)
			}
		}
		return nil
	}); err != nil {
		return c, err
	}
	if p.runtime != nil {
		opts := *p.runtime
		opts.Dir = filepath.Join(dir, "pods")
		opts.ManagesNode = func(n *corev1.Node) bool { return n.Annotations[NodeAnnotation] == "fake" }
		if c.runtime, err = podruntime.Start(ctx, c.rest, opts); err != nil {
			return c, err
		}
	}
	return c, nil
}

// podStages selects which pods KWOK's stages play: all of them, or only
// those the pod runtime leaves to it.
func podStages(yaml []byte, runtime bool) []byte {
	sel := ""
	if runtime {
		sel = "    - key: '.metadata.annotations[\"" + podruntime.LifecycleAnnotation + "\"]'\n" +
			"      operator: 'In'\n      values: ['simulated']\n"
	}
	return bytes.ReplaceAll(yaml, []byte("    # rehearse:pods\n"), []byte(sel))
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func simulatedNode(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{NodeAnnotation: "fake"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"type": "kwok",
			},
		},
	}
}

func writeKubeconfig(path, name, server string, certs *pki) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: certs.caPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: certs.adminPEM, ClientKeyData: certs.adminKPEM}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	return clientcmd.WriteToFile(*cfg, path)
}

// CrashAPIServer kills kube-apiserver with SIGKILL, keeps it down for the
// given time, and starts it again with the same flags (same port, same
// etcd), returning once it is ready again. Everything that talks to the
// cluster sees an API server crash.
func (c *Cluster) CrashAPIServer(ctx context.Context, down time.Duration) error {
	p := c.procs.Find("kube-apiserver")
	if p == nil {
		return fmt.Errorf("kwok: cluster %s has no kube-apiserver process", c.name)
	}
	p.Kill()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	if _, err := c.procs.Restart("kube-apiserver"); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(c.rest)
	if err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return c.procs.WaitFor(wait, "kube-apiserver /readyz after its restart", 100*time.Millisecond, func(ctx context.Context) error {
		return cs.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	})
}
