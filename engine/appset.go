package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse/rehearse/internal/loopback"
	"github.com/rehearse/rehearse/internal/proc"
)

// AppSetComponent is the ApplicationSet controller's process name.
const AppSetComponent = "argocd-applicationset-controller"

// StartApplicationSets starts Argo CD's ApplicationSet controller, once per
// engine: it is started when a scenario first needs it, since most do not.
// Its metrics, probe and webhook ports are on 127.0.0.1.
func (e *Engine) StartApplicationSets(ctx context.Context) error {
	e.appSetMu.Lock()
	defer e.appSetMu.Unlock()
	if e.appSetStarted {
		return nil
	}
	ports := make([]int, 3)
	for i := range ports {
		p, err := loopback.FreePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	addr := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	if _, err := e.startComponent(AppSetComponent, []string{"--namespace", Namespace,
		"--argocd-repo-server", e.repoAddr, "--repo-server-plaintext",
		"--metrics-addr", addr(ports[0]), "--probe-addr", addr(ports[1]), "--webhook-addr", addr(ports[2]),
		"--loglevel", "info"}); err != nil {
		return fmt.Errorf("starting the ApplicationSet controller: %w", err)
	}
	// It registers no health check (its probe address answers 404 to
	// /healthz in v3.2.11); its metrics answer once the manager runs.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := e.procs.WaitFor(wctx, AppSetComponent+" /metrics", 100*time.Millisecond,
		proc.HTTPOK("http://"+addr(ports[0])+"/metrics")); err != nil {
		return fmt.Errorf("waiting for the ApplicationSet controller (60 s): %w", err)
	}
	e.appSetStarted = true
	return nil
}

// ApplyApplicationSet applies one ApplicationSet document as a user would
// with kubectl apply, every repoURL in it (generators and template)
// rewritten through the loopback table first; if any is refused, nothing is
// sent. It starts the ApplicationSet controller if it is not running.
func (e *Engine) ApplyApplicationSet(ctx context.Context, source string, doc []byte, rw URLRewriter) (string, error) {
	objs, err := parseManifests(source, doc)
	if err != nil {
		return "", &InvalidApplicationError{Source: source, Reason: "cannot parse", Err: err}
	}
	if len(objs) != 1 {
		return "", &InvalidApplicationError{Source: source, Reason: fmt.Sprintf("expected exactly one document, found %d", len(objs))}
	}
	u := objs[0]
	if u.GetAPIVersion() != "argoproj.io/v1alpha1" || u.GetKind() != "ApplicationSet" {
		return "", &InvalidApplicationError{Source: source, Reason: fmt.Sprintf("kind is %s %s, want argoproj.io/v1alpha1 ApplicationSet", u.GetAPIVersion(), u.GetKind())}
	}
	if u.GetName() == "" {
		return "", &InvalidApplicationError{Source: source, Reason: "metadata.name is empty"}
	}
	if u.GetNamespace() == "" {
		u.SetNamespace(Namespace)
	}
	n, err := rewriteEveryRepoURL(u.Object, "", e.rewriterOr(rw))
	if err != nil {
		return "", &InvalidApplicationError{Source: source, Reason: "repoURL", Err: err}
	}
	if n == 0 {
		return "", &InvalidApplicationError{Source: source, Reason: "no repoURL in the generators or the template"}
	}
	if err := e.StartApplicationSets(ctx); err != nil {
		return "", err
	}
	if err := e.serverSideApply(ctx, applicationSetGVR, u); err != nil {
		return "", &InvalidApplicationError{Source: source, Reason: "rejected by the API server", Err: err}
	}
	return u.GetName(), nil
}

// DeleteApplicationSet deletes an ApplicationSet and then, as a cascading
// delete of each, the Applications it generated with what they deployed.
// The set goes first with its Applications orphaned: while it exists its
// controller would make again an Application deleted under it.
func (e *Engine) DeleteApplicationSet(ctx context.Context, name string, timeout time.Duration) error {
	owned, err := e.GeneratedApplications(ctx, name)
	if err != nil {
		return fmt.Errorf("listing the Applications of ApplicationSet %s: %w", name, err)
	}
	orphan := metav1.DeletePropagationOrphan
	sets := e.dyn.Resource(applicationSetGVR).Namespace(Namespace)
	err = sets.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &orphan})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting ApplicationSet %s: %w", name, err)
	}
	// Gone for good before returning: the garbage collector first frees
	// its Applications (the orphan finalizer), and a set of the same name
	// applied meanwhile would be that deleted one.
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		_, err := sets.Get(wctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("ApplicationSet %s still exists %s after its delete (last: %v)", name, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	var errs []error
	for _, a := range owned {
		if err := e.DeleteApplication(ctx, a, timeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// GeneratedApplications lists the Applications an ApplicationSet owns, by
// name, sorted.
func (e *Engine) GeneratedApplications(ctx context.Context, name string) ([]string, error) {
	apps, err := e.dyn.Resource(applicationGVR).Namespace(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range apps.Items {
		for _, o := range a.GetOwnerReferences() {
			if o.Kind == "ApplicationSet" && o.Name == name {
				out = append(out, a.GetName())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// rewriteEveryRepoURL rewrites each "repoURL" string anywhere in obj (an
// ApplicationSet's git generators, its template's sources) and says how
// many it found. A templated one ("{{.url}}") is left as it is: the
// controller fills it in from the generators, in which every http(s) URL
// (a list element's, a cluster's) is rewritten too, so that nothing the
// controller makes can name an unmapped host.
func rewriteEveryRepoURL(obj any, path string, rw URLRewriter) (int, error) {
	return rewriteURLs(obj, path, rw, false)
}

func rewriteURLs(obj any, path string, rw URLRewriter, inGenerators bool) (int, error) {
	n := 0
	switch v := obj.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok {
				isURL := strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
				if k == "repoURL" {
					n++
				}
				if (k == "repoURL" && !isTemplated(s)) || (inGenerators && isURL) {
					local, err := rw.Rewrite(s)
					if err != nil {
						return n, fmt.Errorf("%s.%s: %w", path, k, err)
					}
					v[k] = local
				}
				continue
			}
			m, err := rewriteURLs(child, path+"."+k, rw, inGenerators || (path == ".spec" && k == "generators"))
			n += m
			if err != nil {
				return n, err
			}
		}
	case []any:
		for i, child := range v {
			if s, ok := child.(string); ok && inGenerators && (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")) {
				local, err := rw.Rewrite(s)
				if err != nil {
					return n, fmt.Errorf("%s[%d]: %w", path, i, err)
				}
				v[i] = local
				continue
			}
			m, err := rewriteURLs(child, fmt.Sprintf("%s[%d]", path, i), rw, inGenerators)
			n += m
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func isTemplated(s string) bool { return strings.Contains(s, "{{") }
