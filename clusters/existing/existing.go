// Package existing is the backend for a cluster someone else runs: it
// connects through a kubeconfig (and optional context) and never deletes
// the cluster.
package existing

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/rehearse/rehearse/clusters"
)

// Provider hands out the one existing cluster.
type Provider struct {
	Kubeconfig string // path; empty means $KUBECONFIG or ~/.kube/config
	Context    string // empty means the current context
}

type cluster struct {
	name, path string
	cfg        *rest.Config
	tmp        string
}

func (c *cluster) Name() string             { return c.name }
func (c *cluster) KubeconfigPath() string   { return c.path }
func (c *cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.cfg) }

// Delete leaves the cluster alone: Rehearse did not create it. Only the
// flattened kubeconfig copy is removed.
func (c *cluster) Delete(context.Context) error { return os.RemoveAll(c.tmp) }

// Create connects to the cluster and checks that it answers.
func (p *Provider) Create(ctx context.Context, name string) (clusters.Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if p.Kubeconfig != "" {
		rules.ExplicitPath = p.Kubeconfig
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: p.Context})
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("existing cluster: reading kubeconfig: %w", err)
	}
	if p.Context != "" {
		if _, ok := raw.Contexts[p.Context]; !ok {
			return nil, fmt.Errorf("existing cluster: kubeconfig has no context %q", p.Context)
		}
		raw.CurrentContext = p.Context
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("existing cluster: %w", err)
	}
	// Argo CD and other components take a file: write a flattened copy
	// whose current context is the chosen one.
	tmp, err := os.MkdirTemp("", "rehearse-existing-")
	if err != nil {
		return nil, err
	}
	if err := clientcmdapi.MinifyConfig(&raw); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := clientcmdapi.FlattenConfig(&raw); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	path := filepath.Join(tmp, "kubeconfig")
	if err := clientcmd.WriteToFile(raw, path); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	c := &cluster{name: name, path: path, cfg: cfg, tmp: tmp}
	if err := clusters.WaitForDefaultServiceAccount(ctx, cfg, 10*time.Second); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("existing cluster %s (%s): %w", raw.CurrentContext, cfg.Host, err)
	}
	return c, nil
}
