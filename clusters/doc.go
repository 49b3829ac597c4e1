// Package clusters provides the ephemeral Kubernetes clusters scenarios run
// against, behind one small interface.
//
// Backends live in sub-packages: kwok (the default: a real control plane
// built from source, with KWOK-simulated nodes, no Docker), kind (Docker
// and a node image required) and existing (any cluster from a kubeconfig).
// Package backends picks one by name.
package clusters
