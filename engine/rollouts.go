package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse/rehearse/internal/loopback"
	"github.com/rehearse/rehearse/internal/proc"
)

// RolloutsNamespace is the Argo Rollouts controller's own namespace, where
// it reads argo-rollouts-config.
const RolloutsNamespace = "argo-rollouts"

// RolloutsComponent is the process name of the Argo Rollouts controller.
const RolloutsComponent = "argo-rollouts"

// WithHTTPProxy gives the Argo Rollouts controller an HTTP proxy (a
// loopback.Proxy), through which its metric providers reach the addresses
// written in users' AnalysisTemplates.
func WithHTTPProxy(url string) Option { return func(s *Settings) { s.HTTPProxy = url } }

// StartRollouts installs the Argo Rollouts CRDs and starts its controller
// against the engine's cluster, once; later calls return at once. Argo CD
// does not need it, so environments that never run a Rollout never pay
// for it (its CRDs alone cost the API server a few hundred MB).
func (e *Engine) StartRollouts(ctx context.Context) error {
	e.rolloutsMu.Lock()
	defer e.rolloutsMu.Unlock()
	if e.rolloutsStarted {
		return nil
	}
	start := time.Now()
	r := RolloutsRecipe(DefaultRolloutsVersion)
	bin, err := e.settings.Cache.Ensure(ctx, r)
	if err != nil {
		return err
	}
	crds, err := filepath.Glob(filepath.Join(bin, "manifests", "crds", "*-crd.yaml"))
	if err != nil || len(crds) == 0 {
		return fmt.Errorf("no Argo Rollouts CRDs under %s", bin)
	}
	for _, f := range crds {
		objs, err := readManifests(f)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := e.serverSideApply(ctx, crdGVR, o); err != nil {
				return fmt.Errorf("applying %s: %w", filepath.Base(f), err)
			}
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: RolloutsNamespace}}
	if _, err := e.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	var healthz, metrics int
	if healthz, err = loopback.FreePort(); err != nil {
		return err
	}
	if metrics, err = loopback.FreePort(); err != nil {
		return err
	}
	env := []string{"KUBECONFIG=" + e.kubeconfig, "POD_NAMESPACE=" + RolloutsNamespace, "HOME=" + filepath.Join(e.dir, "home")}
	if e.settings.HTTPProxy != "" {
		// Loopback destinations (the API server) are never proxied.
		env = append(env, "HTTP_PROXY="+e.settings.HTTPProxy, "HTTPS_PROXY="+e.settings.HTTPProxy, "NO_PROXY=")
	}
	// Its healthz and metrics ports cannot be bound to 127.0.0.1 by flag:
	// free ports are picked for them.
	if _, err := e.procs.Start(proc.Spec{Name: RolloutsComponent, Path: filepath.Join(bin, "rollouts-controller"),
		LogDir: filepath.Join(e.dir, "logs"), Dir: e.dir, Env: env,
		Args: []string{"--kubeconfig", e.kubeconfig, "--leader-elect=false", "--logformat", "json", "--loglevel", "info",
			"--healthzPort", strconv.Itoa(healthz), "--metricsPort", strconv.Itoa(metrics), "--qps", "100", "--burst", "200"}}); err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, e.settings.StartTimeout)
	defer cancel()
	if err := e.procs.WaitFor(wait, "argo-rollouts /healthz", 100*time.Millisecond,
		proc.HTTPOK("http://127.0.0.1:"+strconv.Itoa(healthz)+"/healthz")); err != nil {
		return err
	}
	e.rolloutsStarted = true
	e.logf("Argo Rollouts %s started in %s", DefaultRolloutsVersion, time.Since(start).Round(time.Millisecond))
	return nil
}

// RolloutsRunning reports whether StartRollouts has started the controller.
func (e *Engine) RolloutsRunning() bool {
	e.rolloutsMu.Lock()
	defer e.rolloutsMu.Unlock()
	return e.rolloutsStarted
}
