// Package evidence turns each component's own record (the Git server's
// access log, push events and webhook deliveries, the CI runner's stages,
// the registry's log, Argo CD's controller and repo-server logs, the pod
// and Rollout recorders, Prometheus's scrapes and queries, the mail sink)
// into the events that seed coverage reads (reports/sequence).
//
// An event says only what its record shows: a reply is emitted only when
// the record shows the answer (a dry run Argo CD went on from, layers the
// nodes fetched, a stage that passed), so an event never stands for more
// than was seen. Each function is pure, so the rules are table-tested on
// recorded inputs, failures included.
package evidence
