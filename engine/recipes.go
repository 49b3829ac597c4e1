package engine

import (
	"fmt"
	"strings"

	"github.com/rehearse/rehearse/internal/binaries"
)

// Line is one Argo CD release line Rehearse knows how to build and run.
type Line struct {
	ArgoCD    string // module version, e.g. v3.2.11
	Helm      string // the Helm CLI that line drives
	HelmMajor int    // 3 or 4: selects helm.sh/helm/v3 or /v4
	Kustomize string // the kustomize CLI on the repo-server's PATH
	Toolchain string // GOTOOLCHAIN for the build, when upstream needs a newer Go
}

// DefaultArgoCDVersion is the seed's line (Argo CD 3.2): the newest patch on
// the module proxy that compiles. v3.2.12 is served but does not build:
// its controller/cache/info.go calls settings.ValidateExternalURL, which
// that tag's util/settings lacks.
const DefaultArgoCDVersion = "v3.2.11"

// NewestArgoCDVersion is the newest line built and run here (the nightly
// matrix runs it next to the default).
const NewestArgoCDVersion = "v3.6.1"

// Lines are the Argo CD versions that have been built and run here. The
// Helm versions are the ones each line's hack/tool-versions.sh pins; Argo
// CD 3.6 drives only the Helm v4 CLI.
var knownLines = map[string]Line{
	"v3.2.11": {ArgoCD: "v3.2.11", Helm: "v3.18.4", HelmMajor: 3, Kustomize: "v5.7.1"},
	"v3.6.1":  {ArgoCD: "v3.6.1", Helm: "v4.3.1", HelmMajor: 4, Kustomize: "v5.8.1", Toolchain: "go1.27.3"},
}

// LineFor returns the known line for an Argo CD version ("v3.6.1" or "3.6.1").
func LineFor(version string) (Line, error) {
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	l, ok := knownLines[version]
	if !ok {
		var known []string
		for v := range knownLines {
			known = append(known, v)
		}
		return Line{}, fmt.Errorf("engine: Argo CD %s is not a known line (known: %s)", version, strings.Join(known, ", "))
	}
	return l, nil
}

// ArgoCDRecipe builds the single argocd binary (every component is the same
// binary, selected by ARGOCD_BINARY_NAME) and copies the CRDs, base config
// and git-verify-wrapper.sh the components need at run time.
func ArgoCDRecipe(l Line) binaries.Recipe {
	v := strings.TrimPrefix(l.ArgoCD, "v")
	return binaries.Recipe{
		Name: "argocd", Module: "github.com/argoproj/argo-cd/v3", Version: l.ArgoCD, Toolchain: l.Toolchain,
		Commands: []binaries.Command{{Package: "github.com/argoproj/argo-cd/v3/cmd", Binary: "argocd"}},
		LDFlags:  "-s -w -X github.com/argoproj/argo-cd/v3/common.version=" + v + " -X github.com/argoproj/argo-cd/v3/common.gitTreeState=clean",
		Files: []string{"manifests/crds", "manifests/base/config", "hack/git-verify-wrapper.sh",
			"notifications_catalog/install.yaml"},
		Estimate: "about 6 minutes on 2 cores",
	}
}

// HelmRecipe builds the Helm CLI the line's repo-server runs for `helm template`.
func HelmRecipe(l Line) binaries.Recipe {
	mod := fmt.Sprintf("helm.sh/helm/v%d", l.HelmMajor)
	return binaries.Recipe{
		Name: "helm", Module: mod, Version: l.Helm, Toolchain: l.Toolchain,
		Commands: []binaries.Command{{Package: mod + "/cmd/helm", Binary: "helm"}},
		LDFlags:  "-s -w -X " + mod + "/internal/version.version=" + l.Helm,
		Estimate: "2 to 4 minutes",
	}
}

// KustomizeRecipe builds the kustomize CLI the repo-server runs for
// kustomization.yaml sources (`kustomize build`). Argo CD's images ship the
// standalone CLI, not kubectl's built-in kustomize.
func KustomizeRecipe(l Line) binaries.Recipe {
	const mod = "sigs.k8s.io/kustomize/kustomize/v5"
	return binaries.Recipe{
		Name: "kustomize", Module: mod, Version: l.Kustomize, Toolchain: l.Toolchain,
		Commands: []binaries.Command{{Package: mod, Binary: "kustomize"}},
		LDFlags:  "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=kustomize/" + l.Kustomize,
		Estimate: "1 to 2 minutes",
	}
}

// DefaultRolloutsVersion is the Argo Rollouts controller Rehearse runs. It
// declares go 1.26.10, newer than the machine's Go, hence the toolchain.
const DefaultRolloutsVersion = "v1.10.2"

// RolloutsRecipe builds the Argo Rollouts controller and copies its CRDs.
func RolloutsRecipe(version string) binaries.Recipe {
	return binaries.Recipe{
		Name: "argo-rollouts", Module: "github.com/argoproj/argo-rollouts", Version: version, Toolchain: "go1.27.3",
		Commands: []binaries.Command{{Package: "github.com/argoproj/argo-rollouts/cmd/rollouts-controller", Binary: "rollouts-controller"}},
		LDFlags:  "-s -w -X github.com/argoproj/argo-rollouts/utils/version.version=" + version,
		Files:    []string{"manifests/crds"},
		Estimate: "about 2 minutes on 2 cores",
	}
}
