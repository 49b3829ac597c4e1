package engine

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// configMaps are the Argo CD settings a user's files may change, key by
// key, over what Rehearse installed.
var configMaps = map[string]bool{"argocd-cm": true, "argocd-rbac-cm": true, "argocd-notifications-cm": true, "argocd-cmd-params-cm": true}

// reservedKeys are argocd-cm keys Rehearse sets from the run's time scale:
// a user's value would silently undo the compression every wait relies on.
var reservedKeys = map[string]string{
	"timeout.reconciliation":        "the poll interval follows the run's time scale",
	"timeout.reconciliation.jitter": "the poll jitter follows the run's time scale",
}

// UserConfig is Argo CD configuration read from a user's folder, checked
// and ready to apply.
type UserConfig struct {
	configMaps map[string]map[string]string // name -> data to merge
	projects   []*unstructured.Unstructured
	sources    map[string]string // "ConfigMap/argocd-cm" -> file it came from
}

// ReadUserConfig reads every .yaml and .yml file of dir (not below it):
// ConfigMaps argocd-cm, argocd-rbac-cm, argocd-notifications-cm and
// argocd-cmd-params-cm, whose keys are merged over Rehearse's, and
// AppProjects. Anything else, a malformed file, or a key Rehearse sets
// itself is an error naming the file, and nothing is applied.
func ReadUserConfig(dir string) (*UserConfig, error) {
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s has no .yaml file", dir)
	}
	c := &UserConfig{configMaps: map[string]map[string]string{}, sources: map[string]string{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		objs, err := parseManifests(f, b)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			what := o.GetKind() + "/" + o.GetName()
			if prev, dup := c.sources[what]; dup {
				return nil, fmt.Errorf("%s: %s is also in %s", f, what, prev)
			}
			c.sources[what] = f
			if ns := o.GetNamespace(); ns != "" && ns != Namespace {
				return nil, fmt.Errorf("%s: %s is in namespace %q; Argo CD's settings live in %q", f, what, ns, Namespace)
			}
			switch {
			case o.GetAPIVersion() == "v1" && o.GetKind() == "ConfigMap" && configMaps[o.GetName()]:
				data, _, err := unstructured.NestedStringMap(o.Object, "data")
				if err != nil {
					return nil, fmt.Errorf("%s: %s: data: %w", f, what, err)
				}
				if o.GetName() == "argocd-cm" {
					for k, why := range reservedKeys {
						if _, set := data[k]; set {
							return nil, fmt.Errorf("%s: %s sets %s, which Rehearse sets itself: %s", f, what, k, why)
						}
					}
				}
				c.configMaps[o.GetName()] = data
			case o.GetAPIVersion() == "argoproj.io/v1alpha1" && o.GetKind() == "AppProject":
				o.SetNamespace(Namespace)
				c.projects = append(c.projects, o)
			default:
				return nil, fmt.Errorf("%s: %s %s is not Argo CD configuration Rehearse applies (ConfigMaps %s, and AppProjects)",
					f, o.GetAPIVersion(), what, strings.Join(slices.Sorted(maps.Keys(configMaps)), ", "))
			}
		}
	}
	return c, nil
}

// ApplyUserConfig merges the config's keys into Argo CD's ConfigMaps and
// creates its AppProjects, their sourceRepos rewritten through rw like an
// Application's repoURL ("*" and globs after a mapped prefix included; an
// unmapped one is refused before anything is applied). The returned undo
// puts every ConfigMap back as it was and deletes the projects.
func (e *Engine) ApplyUserConfig(ctx context.Context, c *UserConfig, rw URLRewriter) (undo func(context.Context) error, err error) {
	rw = e.rewriterOr(rw)
	// The config is read once and applied in every scenario, each with its
	// own Git server, and by lanes at once: rewrite copies, never it.
	projects := make([]*unstructured.Unstructured, len(c.projects))
	for i, p := range c.projects {
		projects[i] = p.DeepCopy()
	}
	for _, p := range projects {
		repos, _, err := unstructured.NestedStringSlice(p.Object, "spec", "sourceRepos")
		if err != nil {
			return nil, fmt.Errorf("%s: AppProject %s: spec.sourceRepos: %w", c.sources["AppProject/"+p.GetName()], p.GetName(), err)
		}
		for i, r := range repos {
			if r == "*" {
				continue
			}
			local, err := rw.Rewrite(r)
			if err != nil {
				return nil, fmt.Errorf("%s: AppProject %s: spec.sourceRepos[%d]: %w", c.sources["AppProject/"+p.GetName()], p.GetName(), i, err)
			}
			repos[i] = local
		}
		if len(repos) > 0 {
			_ = unstructured.SetNestedStringSlice(p.Object, repos, "spec", "sourceRepos")
		}
	}
	cms := e.kube.CoreV1().ConfigMaps(Namespace)
	var undos []func(context.Context) error
	undo = func(ctx context.Context) error {
		var errs []string
		for i := len(undos) - 1; i >= 0; i-- {
			if err := undos[i](ctx); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("restoring Argo CD's configuration: %s", strings.Join(errs, "; "))
		}
		return nil
	}
	fail := func(err error) (func(context.Context) error, error) {
		if uerr := undo(context.WithoutCancel(ctx)); uerr != nil {
			err = fmt.Errorf("%w (and %v)", err, uerr)
		}
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(c.configMaps)) {
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm, err = cms.Create(ctx, newConfigMap(name), metav1.CreateOptions{})
		}
		if err != nil {
			return fail(fmt.Errorf("reading %s: %w", name, err))
		}
		before := maps.Clone(cm.Data)
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		maps.Copy(cm.Data, c.configMaps[name])
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			return fail(fmt.Errorf("updating %s from %s: %w", name, c.sources["ConfigMap/"+name], err))
		}
		undos = append(undos, func(ctx context.Context) error {
			cur, err := cms.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Data = before
			_, err = cms.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
	}
	for _, p := range projects {
		if err := e.serverSideApply(ctx, appProjectGVR, p); err != nil {
			return fail(fmt.Errorf("applying AppProject %s from %s: %w", p.GetName(), c.sources["AppProject/"+p.GetName()], err))
		}
		name := p.GetName()
		undos = append(undos, func(ctx context.Context) error {
			err := e.dyn.Resource(appProjectGVR).Namespace(Namespace).Delete(ctx, name, metav1.DeleteOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		})
	}
	return undo, nil
}

func newConfigMap(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace,
		Labels: map[string]string{"app.kubernetes.io/part-of": "argocd"}}}
}
