// Package binaries builds the third-party programs Rehearse runs (the
// Kubernetes control plane, etcd, KWOK, Argo CD, Helm, Argo Rollouts) from
// the Go module proxy and caches them by version.
//
// Nothing here downloads a release binary: every program is compiled from
// its module through a throwaway wrapper module, because the module proxy is
// the only network this project may rely on. Builds are expensive (minutes,
// gigabytes of RAM), so they are cached under the user cache directory,
// serialised machine-wide with a file lock, and never repeated once a
// binary exists.
package binaries
