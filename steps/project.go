package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/engine"
)

// ProjectFile is a rehearsal project's configuration, in its root.
const ProjectFile = "rehearse.yaml"

// Project is a rehearsal project's configuration: run choices, and what
// every scenario starts with, so that Backgrounds need not repeat it.
type Project struct {
	// Features are run when no feature path is given (default: features).
	Features      []string `yaml:"features"`
	TimeScale     float64  `yaml:"timeScale"`
	ArgoCDVersion string   `yaml:"argocdVersion"`
	Backend       string   `yaml:"backend"`
	// GitHosts are mapped to the scenario's Git server in every scenario
	// ("https://git.example.com"), RegistryHosts to its registry
	// ("registry.example.com"), as the steps that map them do.
	GitHosts      []string `yaml:"gitHosts"`
	RegistryHosts []string `yaml:"registryHosts"`
	// StandIns are image patterns stood in in every scenario ("docker.io/*").
	StandIns []string `yaml:"standIns"`
	// StandInBehaviours give stood-in images a behaviour in every
	// scenario, by pattern, in the file's order (a later pattern that
	// matches wins, so a tag's can follow its image's), as the "with
	// behaviour" step does.
	StandInBehaviours StandInBehaviours `yaml:"standInBehaviours"`
	// StandInUnserved stands in, in every scenario, each image no registry
	// here serves (its host unmapped, or no such image), rather than
	// failing its pull; the pod's events still name each one.
	StandInUnserved bool `yaml:"standInUnserved"`
	// ArgoCD is a folder of Argo CD settings (relative to the project
	// root) applied at every scenario's start, as "Argo CD is configured
	// from" does. It is read, and refused if wrong, before anything starts.
	ArgoCD string `yaml:"argocd"`
	argoCD *engine.UserConfig

	// Path is the file it was read from.
	Path string `yaml:"-"`
}

// ReadProject reads dir's rehearse.yaml: nil without error when there is
// none. An unknown key, a value of the wrong type or malformed YAML is an
// error naming the file and line.
func ReadProject(dir string) (*Project, error) {
	path := filepath.Join(dir, ProjectFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p := &Project{Path: path}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if p.TimeScale < 0 {
		return nil, fmt.Errorf("%s: timeScale %v is negative", path, p.TimeScale)
	}
	if p.ArgoCD != "" {
		folder := p.ArgoCD
		if !filepath.IsAbs(folder) {
			folder = filepath.Join(dir, folder)
		}
		if st, err := os.Stat(folder); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%s: argocd: %s is not a folder of the project", path, folder)
		}
		if p.argoCD, err = engine.ReadUserConfig(folder); err != nil {
			return nil, fmt.Errorf("%s: argocd: %w", path, err)
		}
	}
	return p, nil
}

// StandInBehaviour is one pattern's behaviour in rehearse.yaml.
type StandInBehaviour struct {
	Pattern   string
	Behaviour podruntime.StandInBehaviour
}

// StandInBehaviours are read from a mapping of pattern to behaviour,
// keeping the file's order; a behaviour that does not parse is an error
// naming its line.
type StandInBehaviours []StandInBehaviour

// UnmarshalYAML reads the mapping in order.
func (b *StandInBehaviours) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: standInBehaviours is a mapping of image pattern to behaviour", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		text, err := yaml.Marshal(value)
		if err != nil {
			return fmt.Errorf("line %d: %w", value.Line, err)
		}
		behaviour, err := podruntime.ParseStandInBehaviour(text)
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", value.Line, key.Value, err)
		}
		*b = append(*b, StandInBehaviour{Pattern: key.Value, Behaviour: behaviour})
	}
	return nil
}

// setUp does, at a scenario's start, what the project says every scenario
// starts with.
func (p *Project) setUp(ctx context.Context, w *World) error {
	if p == nil {
		return nil
	}
	for _, h := range p.GitHosts {
		if err := w.mapGitHost(ctx, h); err != nil {
			return fmt.Errorf("%s: gitHosts: %w", p.Path, err)
		}
	}
	for _, h := range p.RegistryHosts {
		if err := w.mapRegistryHost(ctx, h); err != nil {
			return fmt.Errorf("%s: registryHosts: %w", p.Path, err)
		}
	}
	for _, s := range p.StandIns {
		if err := w.standIn(ctx, s); err != nil {
			return fmt.Errorf("%s: standIns: %w", p.Path, err)
		}
	}
	if p.StandInUnserved {
		w.undoStandIns()
		w.env.StandIns().StandInUnserved()
	}
	for _, b := range p.StandInBehaviours {
		w.undoStandIns()
		if err := w.env.StandIns().SetBehaviour(b.Pattern, b.Behaviour); err != nil {
			return fmt.Errorf("%s: standInBehaviours: %s: %w", p.Path, b.Pattern, err)
		}
	}
	if p.argoCD != nil {
		// Waits for the stack: Argo CD must run to take its settings.
		if err := w.applyArgoCDConfig(ctx, p.argoCD); err != nil {
			return fmt.Errorf("%s: argocd: %w", p.Path, err)
		}
	}
	return nil
}
