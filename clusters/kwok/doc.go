// Package kwok is the default cluster backend: a real etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, with nodes simulated by KWOK,
// all as local processes on 127.0.0.1. No Docker is needed.
//
// The binaries are built from the Go module proxy on first use (see
// internal/binaries). The processes are started directly rather than
// through kwokctl so that every listener can be bound to 127.0.0.1 and ports
// are chosen without kwokctl's downward scan, which collides when clusters
// are created concurrently.
package kwok
