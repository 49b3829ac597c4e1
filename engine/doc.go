// Package engine builds, starts and talks to the reconcile engine: the real
// Argo CD (application-controller, repo-server, argocd-server, redis, and
// the argocd CLI) running as local processes against a scenario's cluster.
//
// Rehearse does not re-implement Argo CD: scenarios rehearse what production
// runs. This package is the project's typed face to it. It applies users'
// Application YAML as written, after rewriting repository URLs through an
// explicit loopback table so that no component is ever handed a production
// address; it reads status, history and conditions; it refreshes and syncs;
// and it runs the argocd CLI for the commands the seed shows.
//
// engine never imports steps or fixtures: Argo CD reaches the Git server,
// registry and metrics over the network, like in production.
package engine
