package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"

	"github.com/rehearse/rehearse/internal/loopback"
)

// InvalidApplicationError says an Application document was refused before
// anything was applied.
type InvalidApplicationError struct {
	Source string // file name or "<inline>", with line when known
	Reason string
	Err    error
}

func (e *InvalidApplicationError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: invalid Application: %s: %v", e.Source, e.Reason, e.Err)
	}
	return fmt.Sprintf("%s: invalid Application: %s", e.Source, e.Reason)
}

func (e *InvalidApplicationError) Unwrap() error { return e.Err }

// ApplyApplication applies one Application document as a user would with
// kubectl apply, after rewriting every repoURL through the loopback table.
// source names the document in errors. If any check fails, nothing is sent
// to the cluster.
// rw is the rewrite table to use; nil means the engine's own.
func (e *Engine) ApplyApplication(ctx context.Context, source string, doc []byte, rw URLRewriter) (*Application, error) {
	objs, err := parseManifests(source, doc)
	if err != nil {
		return nil, &InvalidApplicationError{Source: source, Reason: "cannot parse", Err: err}
	}
	if len(objs) != 1 {
		return nil, &InvalidApplicationError{Source: source, Reason: fmt.Sprintf("expected exactly one document, found %d", len(objs))}
	}
	u := objs[0]
	if u.GetAPIVersion() != "argoproj.io/v1alpha1" || u.GetKind() != "Application" {
		return nil, &InvalidApplicationError{Source: source, Reason: fmt.Sprintf("kind is %s %s, want argoproj.io/v1alpha1 Application", u.GetAPIVersion(), u.GetKind())}
	}
	if u.GetName() == "" {
		return nil, &InvalidApplicationError{Source: source, Reason: "metadata.name is empty"}
	}
	if u.GetNamespace() == "" {
		u.SetNamespace(Namespace)
	}
	if err := e.rewriteSources(u, e.rewriterOr(rw)); err != nil {
		return nil, &InvalidApplicationError{Source: source, Reason: "repoURL", Err: err}
	}
	if err := e.compressRetry(u); err != nil {
		return nil, &InvalidApplicationError{Source: source, Reason: "spec.syncPolicy.retry", Err: err}
	}
	if err := e.serverSideApply(ctx, applicationGVR, u); err != nil {
		return nil, &InvalidApplicationError{Source: source, Reason: "rejected by the API server", Err: err}
	}
	return e.Application(ctx, u.GetName())
}

// rewriteSources maps spec.source.repoURL and spec.sources[].repoURL.
func (e *Engine) rewriteSources(u *unstructured.Unstructured, rw URLRewriter) error {
	rewrite := func(src map[string]any, field string) error {
		raw, _ := src["repoURL"].(string)
		if raw == "" {
			return fmt.Errorf("%s.repoURL is empty", field)
		}
		if chart, _ := src["chart"].(string); chart != "" && !strings.Contains(raw, "://") {
			// Argo CD's older Helm OCI form (enableOCI on the repository):
			// Argo CD 3.2 runs helm pull for it with no plain-HTTP flag,
			// so a local registry cannot serve it.
			return fmt.Errorf("%s.repoURL %q with chart %q: a Helm chart in an OCI registry is rehearsed through Argo CD's OCI source: "+
				"write repoURL: oci://%s/%s with path: . and the chart's version as targetRevision", field, raw, chart, strings.TrimSuffix(raw, "/"), chart)
		}
		local, err := rw.Rewrite(raw)
		if err != nil {
			return fmt.Errorf("%s.repoURL: %w", field, err)
		}
		src["repoURL"] = local
		return nil
	}
	found := false
	if src, ok, _ := unstructured.NestedMap(u.Object, "spec", "source"); ok {
		found = true
		if err := rewrite(src, "spec.source"); err != nil {
			return err
		}
		_ = unstructured.SetNestedMap(u.Object, src, "spec", "source")
	}
	if srcs, ok, _ := unstructured.NestedSlice(u.Object, "spec", "sources"); ok {
		found = true
		for i, s := range srcs {
			m, ok := s.(map[string]any)
			if !ok {
				return fmt.Errorf("spec.sources[%d] is not an object", i)
			}
			if err := rewrite(m, fmt.Sprintf("spec.sources[%d]", i)); err != nil {
				return err
			}
		}
		_ = unstructured.SetNestedSlice(u.Object, srcs, "spec", "sources")
	}
	if !found {
		return errors.New("spec.source is missing")
	}
	return nil
}

// URLRewriter maps a repository URL to the loopback URL components may use,
// or refuses it (see loopback.Rewriter).
type URLRewriter interface {
	Rewrite(url string) (string, error)
}

func (e *Engine) rewriterOr(rw URLRewriter) URLRewriter {
	if rw == nil {
		return e.settings.Rewriter
	}
	return rw
}

// compressRetry rewrites spec.syncPolicy.retry.backoff durations to the
// run's time scale (recorded for the report).
func (e *Engine) compressRetry(u *unstructured.Unstructured) error {
	backoff, ok, _ := unstructured.NestedMap(u.Object, "spec", "syncPolicy", "retry", "backoff")
	if !ok {
		return nil
	}
	for _, field := range []string{"duration", "maxDuration"} {
		v, present := backoff[field]
		if !present {
			continue
		}
		text := fmt.Sprint(v)
		out, err := e.settings.Scale.RewriteText(fmt.Sprintf("Application %s retry.backoff.%s", u.GetName(), field), text)
		if err != nil {
			return err
		}
		backoff[field] = out
	}
	return unstructured.SetNestedMap(u.Object, backoff, "spec", "syncPolicy", "retry", "backoff")
}

// Application reads the live Application.
func (e *Engine) Application(ctx context.Context, name string) (*Application, error) {
	u, err := e.dyn.Resource(applicationGVR).Namespace(Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return applicationFrom(u)
}

// Refresh asks Argo CD to compare the app with Git now, as a poll would
// (normal) or ignoring the manifest cache (hard).
func (e *Engine) Refresh(ctx context.Context, name string, hard bool) error {
	kind := "normal"
	if hard {
		kind = "hard"
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":%q}}}`, kind)
	_, err := e.dyn.Resource(applicationGVR).Namespace(Namespace).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

// Sync requests a sync operation to the app's target revision, as the UI
// and CLI do, initiated by user.
func (e *Engine) Sync(ctx context.Context, name, user string) error {
	op := map[string]any{"operation": map[string]any{
		"initiatedBy": map[string]any{"username": user},
		"sync":        map[string]any{"syncStrategy": map[string]any{"hook": map[string]any{}}},
	}}
	b, _ := json.Marshal(op)
	_, err := e.dyn.Resource(applicationGVR).Namespace(Namespace).Patch(ctx, name, types.MergePatchType, b, metav1.PatchOptions{})
	return err
}

// DeleteApplication deletes the app. If Argo CD deployed anything for it,
// the deletion cascades through Argo CD's resources finalizer, as
// `argocd app delete` does; an app that never deployed (invalid spec,
// unreachable repository) is deleted directly, since Argo CD may be unable
// to process its finalizer. It waits until the app is gone.
func (e *Engine) DeleteApplication(ctx context.Context, name string, timeout time.Duration) error {
	apps := e.dyn.Resource(applicationGVR).Namespace(Namespace)
	app, err := e.Application(ctx, name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	deployed := app.Status.OperationState != nil || len(app.Status.History) > 0
	for _, r := range app.Status.Resources {
		deployed = deployed || r.Status == "Synced" || (r.Health != nil && r.Health.Status != "Missing")
	}
	if deployed {
		patch := `{"metadata":{"finalizers":["resources-finalizer.argocd.argoproj.io"]}}`
		if _, err := apps.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if err := apps.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		_, err := apps.Get(wctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-wctx.Done():
			// Do not leave a stuck object behind for the next scenario.
			_, _ = apps.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			return fmt.Errorf("gave up after %s waiting for Argo CD to delete Application %s and its resources (finalizer removed by force); last: %v", timeout, name, app.Summary())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// AddRepositoryCredentials registers basic-auth credentials for every
// repository under urlPrefix (an Argo CD repo-creds Secret). The prefix is
// rewritten like repoURLs are.
func (e *Engine) AddRepositoryCredentials(ctx context.Context, name, urlPrefix, username, password string, rw URLRewriter) error {
	local, err := e.rewriterOr(rw).Rewrite(urlPrefix)
	if err != nil {
		return err
	}
	return e.putRepoCreds(ctx, name, map[string]string{"type": "git", "url": local, "username": username, "password": password})
}

// AddOCICredentials registers basic-auth credentials for every OCI
// repository (repoURL oci://...) under urlPrefix, rewritten like repoURLs
// are, as an Argo CD repo-creds Secret of type oci. plainHTTP sets
// insecureOCIForceHttp: Argo CD's OCI client otherwise speaks only TLS.
func (e *Engine) AddOCICredentials(ctx context.Context, name, urlPrefix, username, password string, plainHTTP bool, rw URLRewriter) error {
	local, err := e.rewriterOr(rw).Rewrite(urlPrefix)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(local, "oci://") {
		return fmt.Errorf("%q: an OCI repository URL starts with oci://", urlPrefix)
	}
	return e.putRepoCreds(ctx, name, map[string]string{"type": "oci", "url": local, "username": username, "password": password,
		"insecureOCIForceHttp": strconv.FormatBool(plainHTTP)})
}

// putRepoCreds creates or replaces the repo-creds Secret name.
func (e *Engine) putRepoCreds(ctx context.Context, name string, data map[string]string) error {
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace,
			Labels: map[string]string{"argocd.argoproj.io/secret-type": "repo-creds"}},
		StringData: data,
	}
	_, err := e.kube.CoreV1().Secrets(Namespace).Create(ctx, sec, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = e.kube.CoreV1().Secrets(Namespace).Update(ctx, sec, metav1.UpdateOptions{})
	}
	return err
}

// Kube is a client for the cluster the engine deploys to.
func (e *Engine) Kube() kubernetes.Interface { return e.kube }

// RESTConfig of the destination cluster.
func (e *Engine) RESTConfig() *rest.Config { return rest.CopyConfig(e.rest) }

// Dynamic is a dynamic client of the cluster Argo CD runs in.
func (e *Engine) Dynamic() dynamic.Interface { return e.dyn }

// Applications reads every Application of Argo CD's namespace.
func (e *Engine) Applications(ctx context.Context) ([]*Application, error) {
	list, err := e.dyn.Resource(applicationGVR).Namespace(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*Application, 0, len(list.Items))
	for i := range list.Items {
		app, err := applicationFrom(&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, app)
	}
	return out, nil
}

// WatchApplications calls seen with each Application of Argo CD's
// namespace as it is now and again on every change, until ctx ends. One
// list then a watch: counting a thousand Applications costs the API server
// far less than listing them every second.
func (e *Engine) WatchApplications(ctx context.Context, seen func(*Application)) error {
	return e.watch(ctx, applicationGVR, Namespace, "Applications", func(u *unstructured.Unstructured) {
		if app, err := applicationFrom(u); err == nil {
			seen(app)
		}
	})
}

// watch delivers every version of the namespace's objects of one resource
// to seen, from one informer, until ctx ends; it returns once the initial
// list has been delivered. Watching instead of listing on a timer costs
// the API server one LIST and sees every change, not one per tick.
func (e *Engine) watch(ctx context.Context, gvr schema.GroupVersionResource, namespace, what string, seen func(*unstructured.Unstructured)) error {
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(e.dyn, 0, namespace, nil)
	informer := factory.ForResource(gvr).Informer()
	deliver := func(obj any) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			seen(u)
		}
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    deliver,
		UpdateFunc: func(_, obj any) { deliver(obj) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return fmt.Errorf("watching %s in %s: %w", what, namespace, context.Cause(ctx))
	}
	return nil
}

// Events returns the Kubernetes events Argo CD recorded for an app, oldest
// first: its own account of what it did (sync started, namespace created...).
func (e *Engine) Events(ctx context.Context, app string) ([]corev1.Event, error) {
	list, err := e.kube.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Application,involvedObject.name=" + app,
	})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// Logs returns the tail of a component's log, for failure evidence.
func (e *Engine) Logs(component string, lines int) string {
	if p := e.procs.Find(component); p != nil {
		return p.LogTail(lines)
	}
	return ""
}

// EmailService configures notifications' e-mail service (service.email).
type EmailService struct {
	Host string
	Port int
	From string
}

// ConfigureEmail points Argo CD's notifications at an SMTP server. The
// notifications controller reads its ConfigMap live.
func (e *Engine) ConfigureEmail(ctx context.Context, svc EmailService) error {
	if err := loopback.CheckHost(svc.Host); err != nil {
		return fmt.Errorf("notifications e-mail server: %w", err)
	}
	conf := fmt.Sprintf("host: %s\nport: %d\nfrom: %s\n", svc.Host, svc.Port, svc.From)
	patch, _ := json.Marshal(map[string]any{"data": map[string]string{"service.email": conf}})
	_, err := e.kube.CoreV1().ConfigMaps(Namespace).Patch(ctx, "argocd-notifications-cm", types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// standardTriggers are the catalog triggers the seed's flows use, with the
// template each one sends.
var standardTriggers = map[string]string{
	"on-sync-succeeded":  "app-sync-succeeded",
	"on-sync-failed":     "app-sync-failed",
	"on-health-degraded": "app-health-degraded",
	"on-deployed":        "app-deployed",
}

// ConfigureWebhook adds a webhook service named name posting to url, and a
// JSON body for it to each standard template (the catalog ships none for
// webhooks): {"app", "revision", "trigger", "sync", "health"}.
// Applications subscribe with notifications.argoproj.io/subscribe.<trigger>.<name>.
func (e *Engine) ConfigureWebhook(ctx context.Context, name, url string) error {
	if err := loopback.CheckURL(url); err != nil {
		return fmt.Errorf("notifications webhook %s: %w", name, err)
	}
	cm, err := e.kube.CoreV1().ConfigMaps(Namespace).Get(ctx, "argocd-notifications-cm", metav1.GetOptions{})
	if err != nil {
		return err
	}
	data := map[string]string{
		"service.webhook." + name: fmt.Sprintf("url: %s\nheaders:\n- name: Content-Type\n  value: application/json\n", url),
	}
	for trigger, tmpl := range standardTriggers {
		key := "template." + tmpl
		var t map[string]any
		if err := yaml.Unmarshal([]byte(cm.Data[key]), &t); err != nil || t == nil {
			return fmt.Errorf("notifications catalog: %s: %v", key, err)
		}
		hooks, _ := t["webhook"].(map[string]any)
		if hooks == nil {
			hooks = map[string]any{}
		}
		hooks[name] = map[string]any{"method": "POST", "body": fmt.Sprintf(
			`{"app":"{{.app.metadata.name}}","revision":"{{.app.status.sync.revision}}","trigger":%q,"sync":"{{.app.status.sync.status}}","health":"{{.app.status.health.status}}"}`, trigger)}
		t["webhook"] = hooks
		b, err := yaml.Marshal(t)
		if err != nil {
			return err
		}
		data[key] = string(b)
	}
	patch, _ := json.Marshal(map[string]any{"data": data})
	_, err = e.kube.CoreV1().ConfigMaps(Namespace).Patch(ctx, "argocd-notifications-cm", types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// SetEmailSubject changes the e-mail subject of a notification template
// ("app-deployed") in argocd-notifications-cm, as a platform team does to
// word its own messages. subject is a notifications template
// ("Deployed {{.app.status.sync.revision}}"). It returns the subject it
// replaced, so a scenario can put it back.
func (e *Engine) SetEmailSubject(ctx context.Context, template, subject string) (string, error) {
	cm, err := e.kube.CoreV1().ConfigMaps(Namespace).Get(ctx, "argocd-notifications-cm", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	key := "template." + template
	var t map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data[key]), &t); err != nil || t == nil {
		return "", fmt.Errorf("argocd-notifications-cm has no template %q (%v)", template, err)
	}
	email, _ := t["email"].(map[string]any)
	if email == nil {
		email = map[string]any{}
	}
	previous, _ := email["subject"].(string)
	email["subject"] = subject
	t["email"] = email
	b, err := yaml.Marshal(t)
	if err != nil {
		return "", err
	}
	patch, _ := json.Marshal(map[string]any{"data": map[string]string{key: string(b)}})
	_, err = e.kube.CoreV1().ConfigMaps(Namespace).Patch(ctx, "argocd-notifications-cm", types.MergePatchType, patch, metav1.PatchOptions{})
	return previous, err
}

// RegisterCluster makes a cluster a destination Applications can name
// (destination.name), with a declarative cluster Secret as in production.
// Argo CD reaches it at cfg.Host with cfg's client certificate.
func (e *Engine) RegisterCluster(ctx context.Context, name string, cfg *rest.Config) error {
	if err := loopback.CheckURL(cfg.Host); err != nil {
		return fmt.Errorf("cluster %s: %w", name, err)
	}
	if len(cfg.CAData) == 0 || len(cfg.CertData) == 0 || len(cfg.KeyData) == 0 {
		return fmt.Errorf("cluster %s: its client config has no inline CA, certificate and key", name)
	}
	conf, _ := json.Marshal(map[string]any{"tlsClientConfig": map[string]any{
		"caData": cfg.CAData, "certData": cfg.CertData, "keyData": cfg.KeyData}})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-" + name, Namespace: Namespace,
			Labels: map[string]string{"argocd.argoproj.io/secret-type": "cluster"}},
		StringData: map[string]string{"name": name, "server": cfg.Host, "config": string(conf)},
	}
	_, err := e.kube.CoreV1().Secrets(Namespace).Create(ctx, secret, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = e.kube.CoreV1().Secrets(Namespace).Update(ctx, secret, metav1.UpdateOptions{})
	}
	return err
}

// UnregisterCluster removes the cluster Secret RegisterCluster made, so
// Argo CD stops watching a cluster that is about to go away. A cluster that
// is not registered is not an error.
func (e *Engine) UnregisterCluster(ctx context.Context, name string) error {
	err := e.kube.CoreV1().Secrets(Namespace).Delete(ctx, "cluster-"+name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
