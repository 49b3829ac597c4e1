package kwok

import (
	"fmt"
	"strings"

	"github.com/rehearse/rehearse/internal/binaries"
)

// Versions that are known to work together on this kind of machine.
const (
	DefaultKubernetesVersion = "v1.37.2"
	DefaultEtcdVersion       = "v3.7.2"
	DefaultKwokVersion       = "v0.8.0"
)

// KubernetesRecipe builds kube-apiserver, kube-controller-manager and
// kube-scheduler. k8s.io/kubernetes cannot be go-installed because its go.mod
// replaces the staging modules with local paths; the wrapper maps them to
// the published v0.x modules.
func KubernetesRecipe(version string) binaries.Recipe {
	minor := strings.Split(strings.TrimPrefix(version, "v"), ".")
	major, min := "1", ""
	if len(minor) >= 2 {
		major, min = minor[0], minor[1]
	}
	pkg := "k8s.io/component-base/version"
	return binaries.Recipe{
		Name: "kubernetes", Module: "k8s.io/kubernetes", Version: version,
		StagingVersion: "v0." + strings.TrimPrefix(strings.TrimPrefix(version, "v"), major+"."),
		Commands: []binaries.Command{
			{Package: "k8s.io/kubernetes/cmd/kube-scheduler", Binary: "kube-scheduler"},
			{Package: "k8s.io/kubernetes/cmd/kube-controller-manager", Binary: "kube-controller-manager"},
			{Package: "k8s.io/kubernetes/cmd/kube-apiserver", Binary: "kube-apiserver"},
		},
		// Without the version stamp the binaries report v0.0.0-master and
		// clients' version checks misbehave.
		LDFlags: fmt.Sprintf("-s -w -X %[1]s.gitVersion=%[2]s -X %[1]s.gitMajor=%[3]s -X %[1]s.gitMinor=%[4]s -X %[1]s.gitTreeState=clean",
			pkg, version, major, min),
		Estimate: "about 9 minutes on 2 cores",
	}
}

// EtcdRecipe builds etcd (its main package is the server module's root).
// Debian's etcd 3.4 is not used: the controller manager stalls on it.
func EtcdRecipe(version string) binaries.Recipe {
	return binaries.Recipe{
		Name: "etcd", Module: "go.etcd.io/etcd/server/v3", Version: version,
		Commands: []binaries.Command{{Package: "go.etcd.io/etcd/server/v3", Binary: "etcd"}},
		LDFlags:  "-s -w",
		Estimate: "about 30 seconds",
	}
}

// KwokRecipe builds the kwok controller that plays the nodes.
func KwokRecipe(version string) binaries.Recipe {
	return binaries.Recipe{
		Name: "kwok", Module: "sigs.k8s.io/kwok", Version: version,
		Commands: []binaries.Command{{Package: "sigs.k8s.io/kwok/cmd/kwok", Binary: "kwok"}},
		LDFlags:  "-s -w",
		Estimate: "about 80 seconds",
	}
}
