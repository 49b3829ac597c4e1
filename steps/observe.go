package steps

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/rehearse/rehearse/fixtures/ci"
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
// time order. It runs before the scenario's servers are closed.
func (w *World) collectEvents() []sequence.Event {
	events := append([]sequence.Event(nil), w.events...)
	add := func(t time.Time, from, to, observer, format string, args ...any) {
		events = append(events, sequence.Event{Time: t, From: from, To: to, Message: fmt.Sprintf(format, args...), Observer: observer})
	}
	if w.git != nil {
		for _, a := range w.git.Accesses("") {
			if a.User != argocdUser || a.Status/100 != 2 || a.Service != "git-upload-pack" {
				continue
			}
			if isRefAdvertisement(a.Path) {
				add(a.Time, sequence.ArgoCD, sequence.GitLab, "git server access log", "git ls-remote %s", a.Repo)
				add(a.Time.Add(time.Microsecond), sequence.GitLab, sequence.ArgoCD, "git server access log", "← latest commit hashes of %s", a.Repo)
			} else {
				add(a.Time, sequence.ArgoCD, sequence.GitLab, "git server access log", "git fetch %s", a.Repo)
				add(a.Time.Add(time.Microsecond), sequence.GitLab, sequence.ArgoCD, "git server access log", "← updated files of %s", a.Repo)
			}
		}
		for _, p := range w.git.Pushes() {
			add(p.Time, sequence.GitLab, sequence.GitLab, "git server push events", "webhook trigger: push to %s of %s by %s", p.Ref, p.Repo, p.Pusher)
		}
		argoHook := ""
		if e := w.env.Engine(); e != nil {
			argoHook = e.WebhookURL()
		}
		for _, d := range w.git.Deliveries() {
			to := sequence.Jenkins
			if d.URL == argoHook {
				to = sequence.ArgoCD
			}
			add(d.Time, sequence.GitLab, to, "git server webhook deliveries", "webhook: Push Hook %s (%d)", d.Ref, d.Status)
		}
	}
	if w.ci != nil {
		for _, b := range w.ci.Builds() {
			events = append(events, buildEvents(b)...)
		}
	}
	if w.harbor != "" {
		for _, e := range w.env.Registry().Events() {
			switch {
			case e.Action == "scanned":
				add(e.Time, sequence.Harbor, sequence.Harbor, "registry", "vulnerability scan of %s: %s", e.Repository, e.Detail)
			case e.Action == "pull" && e.User == registryNodes:
				add(e.Time, sequence.Kubernetes, sequence.Harbor, "registry", "docker pull %s:%s", e.Repository, e.Reference)
				add(e.Time.Add(time.Microsecond), sequence.Harbor, sequence.Kubernetes, "registry", "← image layers of %s", e.Repository)
				add(e.Time.Add(2*time.Microsecond), sequence.Kubernetes, sequence.Kubernetes, "registry", "image pulled: %s:%s", e.Repository, e.Reference)
			case e.Action == "denied" && e.User == registryNodes:
				add(e.Time, sequence.Harbor, sequence.Kubernetes, "registry", "← pull denied: %s", e.Detail)
			}
		}
	}
	events = append(events, w.argoEvents()...)
	for ns, r := range w.rollouts {
		events = append(events, r.close()...)
		delete(w.rollouts, ns)
	}
	for svc, g := range w.users {
		for _, c := range g.EndpointChanges() {
			add(c.At, sequence.Kubernetes, sequence.LB, "EndpointSlice watch", "Update service endpoints of %s: %d ready", svc, c.Ready)
		}
	}
	if w.prom != nil {
		for pod, t := range w.prom.scraper.FirstScrapes() {
			add(t, sequence.Kubernetes, sequence.Prometheus, "Prometheus scrapes", "Report metrics of pod %s (http_requests_total, http_request_duration_seconds)", pod)
		}
		for _, q := range w.prom.server.Queries() {
			add(q.At, sequence.Prometheus, sequence.ArgoCD, "Prometheus queries", "Canary metrics: %s = %s", oneLine(q.Expr), q.Result)
		}
	}
	for key, rec := range w.podRecorders {
		cluster, _, _ := strings.Cut(key, "/")
		role := sequence.Kubernetes
		if cluster != InCluster {
			role = sequence.ClusterRole(cluster)
		}
		rolling := map[string]bool{}
		pods := rec.Pods()
		for i, p := range pods {
			// A pod of a template that already has live pods is a scale-up.
			hash := p.Labels["pod-template-hash"]
			for _, q := range pods[:i] {
				if hash != "" && q.Labels["pod-template-hash"] == hash && !q.Leftover &&
					(q.Terminating.IsZero() || q.Terminating.After(p.Created)) {
					add(p.Created.Add(-2*time.Microsecond), role, role, "pod recording", "scale deployment: one more replica of %s", hash)
					break
				}
			}
		}
		for _, p := range pods {
			if p.Leftover {
				continue
			}
			tag := p.Image[strings.LastIndex(p.Image, ":")+1:]
			owner := p.Labels["pod-template-hash"]
			if !rolling[owner] && len(pods) > 1 {
				rolling[owner] = true
				add(p.Created.Add(-time.Microsecond), role, role, "pod recording", "rolling update of deployment to %s", tag)
			}
			add(p.Created, role, role, "pod recording", "create new pod %s (%s)", p.Name, tag)
			if !p.Ready.IsZero() {
				add(p.Ready, role, role, "pod recording", "readiness probe passed: %s ready", p.Name)
			}
			if !p.Terminating.IsZero() {
				add(p.Terminating, role, role, "pod recording", "terminate old pod %s (%s)", p.Name, tag)
			}
			if p.Waiting != "" && p.Waiting != "ContainerCreating" {
				add(p.Created.Add(time.Millisecond), role, role, "pod recording", "pod %s waiting: %s", p.Name, p.Waiting)
			}
		}
	}
	if w.mail != nil {
		for _, m := range w.mail.Messages() {
			to := sequence.Developer
			if len(m.To) > 0 && strings.HasPrefix(m.To[0], "admin") {
				to = sequence.Admin
			}
			add(m.Received, sequence.ArgoCD, to, "mail sink", "notification: %s", m.Subject)
		}
	}
	sequence.Sort(events)
	return events
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// isRefAdvertisement tells a poll (GET .../info/refs) from a fetch.
func isRefAdvertisement(path string) bool { return strings.HasSuffix(path, "/info/refs") }

func buildEvents(b ci.BuildView) []sequence.Event {
	var out []sequence.Event
	add := func(t time.Time, from, to, format string, args ...any) {
		out = append(out, sequence.Event{Time: t, From: from, To: to, Message: fmt.Sprintf(format, args...), Observer: "CI runner"})
	}
	for _, s := range b.Stages {
		if s.Status == ci.StatusSkipped || s.Status == ci.StatusPending {
			continue
		}
		first := firstLine(strings.TrimSpace(s.Log))
		switch s.Uses {
		case "checkout":
			add(s.Started, sequence.Jenkins, sequence.GitLab, "git clone repository %s", b.Repo)
			add(s.Finished, sequence.GitLab, sequence.Jenkins, "← source code %s", short(b.Commit))
		case "run":
			cmd := strings.TrimPrefix(first, "+ ")
			if strings.Contains(cmd, " test") {
				add(s.Started, sequence.Jenkins, sequence.Jenkins, "run unit tests: %s (%s)", cmd, s.Status)
			} else {
				add(s.Started, sequence.Jenkins, sequence.Jenkins, "build: %s (%s)", cmd, s.Status)
			}
		case "image":
			add(s.Started, sequence.Jenkins, sequence.Jenkins, "docker build -t %s (OCI image, no Docker)", strings.TrimPrefix(first, "built "))
		case "login":
			add(s.Started, sequence.Jenkins, sequence.Harbor, "docker login: %s", first)
		case "push":
			add(s.Started, sequence.Jenkins, sequence.Harbor, "docker push %s", b.Image)
		case "scan":
			if s.Status == ci.StatusPassed {
				add(s.Finished, sequence.Harbor, sequence.Jenkins, "← image pushed successfully; %s", first)
			} else {
				add(s.Finished, sequence.Harbor, sequence.Jenkins, "← scan verdict refused the image: %s", s.Error)
			}
		case "git-clone":
			add(s.Started, sequence.Jenkins, sequence.GitLab, "git clone helm-repo %s", b.ChartRepo)
		case "set-value":
			add(s.Started, sequence.Jenkins, sequence.Jenkins, "update values.yaml (%s)", first)
		case "git-commit":
			add(s.Started, sequence.Jenkins, sequence.GitLab, "%s", strings.SplitN(first, ":", 2)[0])
		case "git-push":
			add(s.Started, sequence.Jenkins, sequence.GitLab, "git push origin %s", "main")
			add(s.Finished, sequence.GitLab, sequence.Jenkins, "← helm chart updated")
		}
	}
	return out
}

var (
	quotedSHA    = regexp.MustCompile(`'([0-9a-f]{40})'`)
	statusChange = regexp.MustCompile(`^Updated (sync|health) status: (\S+) -> (\S+)`)
	resourceRes  = regexp.MustCompile(`^Adding resource result, status: '([^']*)', phase: '[^']*', message: '([^']*)'`)
	opPhase      = regexp.MustCompile(`^Updating operation state\. phase: (\w+) -> (\w+)`)
)

// argoEvents reads what Argo CD's controller and repo-server logged about
// the scenario's applications since it began.
func (w *World) argoEvents() []sequence.Event {
	e := w.env.Engine()
	if e == nil || w.started.IsZero() {
		return nil
	}
	var out []sequence.Event
	add := func(t time.Time, from, to, observer, format string, args ...any) {
		out = append(out, sequence.Event{Time: t, From: from, To: to, Message: fmt.Sprintf(format, args...), Observer: observer})
	}
	mine := map[string]string{} // app -> destination role
	for _, a := range w.apps {
		mine[a] = w.appRoles[a]
	}
	for _, l := range e.LogLines("argocd-application-controller", w.started) {
		// Argo CD logs the name alone, or (older lines) namespace/name.
		app := l.Fields["application"]
		if _, name, ok := strings.Cut(app, "/"); ok {
			app = name
		}
		dest, ok := mine[app]
		if !ok {
			continue
		}
		msg := l.Message
		switch {
		case strings.HasPrefix(msg, "Refreshing app status"):
			// The controller watches the live objects of every app; a
			// change to one of them requests a refresh.
			if strings.Contains(msg, "controller refresh requested") {
				add(l.Time.Add(-2*time.Microsecond), sequence.ArgoCD, dest, "controller log", "watch: live resources of %s (refresh requested)", app)
				add(l.Time.Add(-time.Microsecond), dest, sequence.ArgoCD, "controller log", "← live state changed")
			}
			add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "controller log", "refresh app status of %s: %s", app, strings.TrimPrefix(msg, "Refreshing app status "))
		case strings.HasPrefix(msg, "Comparing app state"):
			add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "controller log", "compare app state of %s (diff)", app)
		case strings.HasPrefix(msg, "Initiated automated sync"):
			sha := ""
			if m := quotedSHA.FindStringSubmatch(msg); m != nil {
				sha = short(m[1])
			}
			add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "controller log", "auto-sync enabled: initiated automated sync of %s to %s", app, sha)
		case strings.HasPrefix(msg, "Skipping auto-sync"):
			add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "controller log", "skip auto-sync of %s: %s", app, strings.TrimPrefix(msg, "Skipping auto-sync: "))
		case statusChange.MatchString(msg):
			m := statusChange.FindStringSubmatch(msg)
			add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "controller log", "update %s status: %s → %s (%s)", m[1], m[2], m[3], app)
		case msg == "Tasks (dry-run)":
			add(l.Time, sequence.ArgoCD, dest, "controller log", "tasks (dry-run) of %s", app)
			add(l.Time.Add(time.Microsecond), dest, sequence.ArgoCD, "controller log", "← dry run accepted")
		case msg == "Tasks":
			add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "controller log", "tasks: manifests of %s to apply", app)
		case msg == "Creating namespace":
			add(l.Time, sequence.ArgoCD, dest, "controller log", "kubectl create namespace %s", l.Fields["namespace"])
		case msg == "Namespace already exists":
			add(l.Time, sequence.ArgoCD, dest, "controller log", "namespace %s already exists", l.Fields["namespace"])
		case resourceRes.MatchString(msg):
			m := resourceRes.FindStringSubmatch(msg)
			add(l.Time, sequence.ArgoCD, dest, "controller log", "kubectl apply: %s", m[2])
			if strings.HasPrefix(m[2], "namespace/") && strings.HasSuffix(m[2], " created") {
				add(l.Time.Add(time.Microsecond), dest, sequence.ArgoCD, "controller log", "← %s", strings.Replace(m[2], "namespace/", "namespace ", 1))
			}
		case opPhase.MatchString(msg):
			m := opPhase.FindStringSubmatch(msg)
			if m[2] != "Running" {
				add(l.Time, dest, sequence.ArgoCD, "controller log", "← sync operation %s (%s)", m[2], app)
			}
		}
	}
	for _, l := range e.LogLines("argocd-repo-server", w.started) {
		switch msg := l.Message; {
		case strings.HasPrefix(msg, "helm template"):
			add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "repo-server log", "helm template %s", firstWords(strings.TrimPrefix(msg, "helm template "), 4))
		case strings.HasPrefix(msg, "git checkout"), strings.HasPrefix(msg, "git fetch"):
			add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "repo-server log", "%s", firstWords(msg, 5))
		}
	}
	return out
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = append(f[:n], "...")
	}
	return strings.Join(f, " ")
}
