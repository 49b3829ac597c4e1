// Package backends chooses a cluster backend by name: kwok (default),
// kind, or existing.
package backends

import (
	"fmt"

	"github.com/rehearse/rehearse/clusters"
	"github.com/rehearse/rehearse/clusters/existing"
	"github.com/rehearse/rehearse/clusters/kind"
	"github.com/rehearse/rehearse/clusters/kwok"
	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/internal/binaries"
	"github.com/rehearse/rehearse/internal/logging"
)

// Names lists the backends.
var Names = []string{"kwok", "kind", "existing"}

// Config holds what any backend may need.
type Config struct {
	Cache      *binaries.Cache
	Log        logging.Logger
	Kubeconfig string // existing
	Context    string // existing
	NodeImage  string // kind
	// PodRuntime, for kwok, runs pods' images for real (see podruntime).
	PodRuntime *podruntime.Options
}

// Open returns the provider for backend name.
func Open(name string, cfg Config) (clusters.Provider, error) {
	switch name {
	case "", "kwok":
		opts := []kwok.Option{kwok.WithLogger(cfg.Log)}
		if cfg.Cache != nil {
			opts = append(opts, kwok.WithCache(cfg.Cache))
		}
		if cfg.PodRuntime != nil {
			opts = append(opts, kwok.WithPodRuntime(*cfg.PodRuntime))
		}
		return kwok.New(opts...)
	case "kind":
		return kind.New(cfg.NodeImage), nil
	case "existing":
		return &existing.Provider{Kubeconfig: cfg.Kubeconfig, Context: cfg.Context}, nil
	default:
		return nil, fmt.Errorf("unknown backend %q (known: kwok, kind, existing)", name)
	}
}
