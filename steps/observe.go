package steps

import (
	"fmt"
	"strings"
	"time"

	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/reports/evidence"
	"github.com/rehearse/rehearse/reports/sequence"
)

// observe records an interaction a step performed as a person.
func (w *World) observe(from, to, message string) { w.observeAt(time.Now(), from, to, message) }

// observeAt records a person's action that began at start, once it has
// succeeded: a refused or failed attempt is not the seed's step, and the
// start keeps it before what the systems did in answer.
func (w *World) observeAt(start time.Time, from, to, message string) {
	w.events = append(w.events, sequence.Event{Time: start, From: from, To: to, Message: message, Observer: sequence.StepObserver})
}

// person is the role a Git user plays in the seed's diagrams.
func person(user string) string {
	switch user {
	case adminUser:
		return sequence.Admin
	case jenkinsUser:
		return sequence.Jenkins
	case argocdUser:
		return sequence.ArgoCD
	default:
		return sequence.Developer // developer, lead
	}
}

// collectEvents gathers what every component of the scenario observed, in
// time order (each record read by reports/evidence). It runs before the
// scenario's servers are closed.
func (w *World) collectEvents() []sequence.Event {
	events := append([]sequence.Event(nil), w.events...)
	if w.git != nil {
		argoHook := ""
		if e := w.env.Engine(); e != nil {
			argoHook = e.WebhookURL()
		}
		events = append(events, evidence.GitAccesses(w.git.Accesses(""), argocdUser)...)
		events = append(events, evidence.GitPushes(w.git.Pushes())...)
		events = append(events, evidence.Webhooks(w.git.Deliveries(), argoHook)...)
	}
	if w.ci != nil {
		for _, b := range w.ci.Builds() {
			events = append(events, evidence.Build(b)...)
		}
	}
	if w.harbor != "" {
		events = append(events, evidence.Registry(w.env.Registry().Events(), lane.RegistryNodes)...)
	}
	if e := w.env.Engine(); e != nil && !w.started.IsZero() {
		apps := map[string]string{} // app -> destination role
		for _, a := range w.apps {
			apps[a] = w.appRoles[a]
		}
		events = append(events, evidence.Controller(e.LogLines("argocd-application-controller", w.started), apps)...)
		events = append(events, evidence.RepoServer(e.LogLines("argocd-repo-server", w.started))...)
	}
	for ns, r := range w.rollouts {
		events = append(events, r.close()...)
		delete(w.rollouts, ns)
	}
	for svc, g := range w.users {
		for _, c := range g.EndpointChanges() {
			events = append(events, sequence.Event{Time: c.At, From: sequence.Kubernetes, To: sequence.LB, Observer: "EndpointSlice watch",
				Message: fmt.Sprintf("Update service endpoints of %s: %d ready", svc, c.Ready)})
		}
	}
	if w.prom != nil {
		events = append(events, evidence.Scrapes(w.prom.scraper.FirstScrapes())...)
		events = append(events, evidence.Queries(w.prom.server.Queries())...)
	}
	for key, rec := range w.podRecorders {
		cluster, _, _ := strings.Cut(key, "/")
		role := sequence.Kubernetes
		if cluster != lane.InCluster {
			role = sequence.ClusterRole(cluster)
		}
		events = append(events, evidence.Pods(rec.Pods(), role)...)
	}
	if w.mail != nil {
		events = append(events, evidence.Mail(w.mail.Messages())...)
	}
	sequence.Sort(events)
	return events
}
