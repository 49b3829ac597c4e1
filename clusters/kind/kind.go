// Package kind is the backend for kind clusters (Kubernetes in Docker),
// through sigs.k8s.io/kind/pkg/cluster. It needs a working container engine
// and a kindest/node image present locally; Available says whether both are
// there, so callers can skip with a reason instead of failing.
package kind

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/rehearse/rehearse/clusters"
)

// DefaultNodeImage is used when no image is given.
const DefaultNodeImage = "kindest/node:v1.35.0"

// Provider creates kind clusters.
type Provider struct {
	NodeImage string
	provider  *kindcluster.Provider

	// probe runs once per provider: it starts six containers.
	probeOnce sync.Once
	probeErr  error
}

// New returns a provider using Docker.
func New(nodeImage string) *Provider {
	if nodeImage == "" {
		nodeImage = DefaultNodeImage
	}
	return &Provider{NodeImage: nodeImage, provider: kindcluster.NewProvider()}
}

// Available returns nil when Docker answers, runs what kind's node
// containers need (Probe), and the node image is present locally (no
// registry is reachable to pull it), else the reason.
func (p *Provider) Available(ctx context.Context) error {
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		return fmt.Errorf("kind backend unavailable: docker info failed: %s", reason(string(out), err))
	}
	p.probeOnce.Do(func() {
		report, err := Probe(ctx)
		if err == nil {
			err = report.Err()
		}
		p.probeErr = err
	})
	if p.probeErr != nil {
		return fmt.Errorf("kind backend unavailable: %w", p.probeErr)
	}
	if out, err := exec.CommandContext(ctx, "docker", "image", "inspect", p.NodeImage).CombinedOutput(); err != nil {
		return fmt.Errorf("kind backend unavailable: node image %s is not present locally: %s", p.NodeImage, reason(string(out), err))
	}
	return nil
}

// reason picks the line of a command's output that explains the failure
// (docker info prints a long client section before its error).
func reason(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if strings.Contains(strings.ToLower(l), "error") || strings.Contains(l, "Cannot connect") {
			return strings.TrimSpace(l)
		}
	}
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return last
	}
	return err.Error()
}

type cluster struct {
	name, dir, path string
	cfg             *rest.Config
	p               *Provider
}

func (c *cluster) Name() string             { return c.name }
func (c *cluster) KubeconfigPath() string   { return c.path }
func (c *cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.cfg) }

func (c *cluster) Delete(context.Context) error {
	err := c.p.provider.Delete(c.name, c.path)
	os.RemoveAll(c.dir)
	return err
}

// LoadImageArchive loads an OCI/Docker image tarball into every node, as
// `kind load image-archive` does, so pods can use images built without Docker.
func (c *cluster) LoadImageArchive(archive string) error {
	nodes, err := c.p.provider.ListInternalNodes(c.name)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		f, err := os.Open(archive)
		if err != nil {
			return err
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("loading %s into node %s: %w", archive, n.String(), err)
		}
	}
	return nil
}

// Create makes a one-node kind cluster and waits for its default ServiceAccount.
func (p *Provider) Create(ctx context.Context, name string) (clusters.Cluster, error) {
	if err := p.Available(ctx); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rehearse-kind-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := p.provider.Create(name, kindcluster.CreateWithNodeImage(p.NodeImage),
		kindcluster.CreateWithKubeconfigPath(path), kindcluster.CreateWithWaitForReady(2*time.Minute)); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("kind create cluster %s: %w", name, err)
	}
	c := &cluster{name: name, dir: dir, path: path, p: p}
	if c.cfg, err = clientcmd.BuildConfigFromFlags("", path); err != nil {
		_ = c.Delete(ctx)
		return nil, err
	}
	if err := clusters.WaitForDefaultServiceAccount(ctx, c.cfg, time.Minute); err != nil {
		_ = c.Delete(ctx)
		return nil, err
	}
	return c, nil
}
