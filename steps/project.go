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
	return p, nil
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
	return nil
}
