// Package proc supervises the local processes Rehearse starts (control plane,
// Argo CD components, redis): each runs in its own process group, logs to a
// file, dies with its parent, and reports its last log lines when it fails.
package proc
