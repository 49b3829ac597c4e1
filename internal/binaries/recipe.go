package binaries

import (
	"fmt"
	"io/fs"
)

// Command is one main package of a recipe and the file name it is built to.
type Command struct {
	Package string // import path of the main package
	Binary  string // file name in the cache directory
}

// Recipe says how to build a set of programs from one upstream module.
type Recipe struct {
	// Name and Version form the cache key, e.g. "kubernetes" "v1.37.2".
	Name    string
	Module  string
	Version string
	// Commands are the main packages to build; a recipe without any only
	// copies Files (manifests shipped by a module, such as CRDs).
	Commands []Command
	// LDFlags are passed to go build (version stamping).
	LDFlags string
	// StagingVersion maps an upstream replace to a local staging directory
	// (k8s.io/kubernetes' ./staging/src/k8s.io/api) onto the published
	// module at this version, since the wrapper cannot see those paths.
	StagingVersion string
	// Toolchain, when set, is exported as GOTOOLCHAIN for this build only,
	// for upstreams that declare a newer Go than the machine's.
	Toolchain string
	// Requires pins extra modules in the wrapper (module -> version).
	Requires map[string]string
	// CGO enables cgo; most recipes build static binaries.
	CGO bool
	// Files are copied from the upstream module (paths relative to its root,
	// files or directories) into the bin directory under the same paths:
	// manifests and scripts the programs need at run time.
	Files []string
	// Estimate is shown to the user before a cold build starts.
	Estimate string
	// Source, when set, is a whole module of Rehearse's own (its go.mod
	// and go.sum as _go.mod and _go.sum, so that it stays a package of
	// this module) built instead of a module from the proxy.
	Source fs.FS
}

// Key is the directory name used for this recipe in the cache.
func (r Recipe) Key() string { return r.Name + "-" + r.Version }

func (r Recipe) validate() error {
	if r.Name == "" || (r.Module == "" && r.Source == nil) || r.Version == "" || len(r.Commands)+len(r.Files) == 0 {
		return fmt.Errorf("binaries: incomplete recipe %+v", r)
	}
	return nil
}
