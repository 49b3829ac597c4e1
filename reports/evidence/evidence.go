package evidence

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/rehearse/rehearse/clusters/podwatch"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/fixtures/ci"
	"github.com/rehearse/rehearse/fixtures/gitserver"
	"github.com/rehearse/rehearse/fixtures/mailsink"
	"github.com/rehearse/rehearse/fixtures/metrics"
	"github.com/rehearse/rehearse/fixtures/registry"
	"github.com/rehearse/rehearse/reports/sequence"
)

// Observers: where each event was seen.
const (
	GitAccessLog      = "git server access log"
	GitPushEvents     = "git server push events"
	WebhookDeliveries = "git server webhook deliveries"
	CIRunner          = "CI runner"
	RegistryLog       = "registry"
	ControllerLog     = "controller log"
	RepoServerLog     = "repo-server log"
	PodRecording      = "pod recording"
	RolloutStatus     = "rollout status"
	PrometheusScrapes = "Prometheus scrapes"
	PrometheusQueries = "Prometheus queries"
	MailSink          = "mail sink"
)

// events collects events of one observer.
type events struct {
	observer string
	out      []sequence.Event
}

func (e *events) add(t time.Time, from, to, format string, args ...any) {
	e.out = append(e.out, sequence.Event{Time: t, From: from, To: to, Message: fmt.Sprintf(format, args...), Observer: e.observer})
}

// GitAccesses reads the Git server's access log for what Argo CD (its
// user argocdUser) asked: a ref advertisement is an ls-remote answered with
// the latest commits, an upload-pack a fetch answered with the files. Only
// answered (2xx) requests count.
func GitAccesses(accesses []gitserver.Access, argocdUser string) []sequence.Event {
	e := events{observer: GitAccessLog}
	for _, a := range accesses {
		if a.User != argocdUser || a.Status/100 != 2 || a.Service != "git-upload-pack" {
			continue
		}
		if a.IsRefAdvertisement() {
			e.add(a.Time, sequence.ArgoCD, sequence.GitLab, "git ls-remote %s", a.Repo)
			e.add(a.Time.Add(time.Microsecond), sequence.GitLab, sequence.ArgoCD, "← latest commit hashes of %s", a.Repo)
		} else {
			e.add(a.Time, sequence.ArgoCD, sequence.GitLab, "git fetch %s", a.Repo)
			e.add(a.Time.Add(time.Microsecond), sequence.GitLab, sequence.ArgoCD, "← updated files of %s", a.Repo)
		}
	}
	return e.out
}

// GitPushes reads the Git server's push events: each is an accepted push,
// which triggers its webhooks.
func GitPushes(pushes []gitserver.PushEvent) []sequence.Event {
	e := events{observer: GitPushEvents}
	for _, p := range pushes {
		e.add(p.Time, sequence.GitLab, sequence.GitLab, "webhook trigger: push to %s of %s by %s", p.Ref, p.Repo, p.Pusher)
	}
	return e.out
}

// Webhooks reads the Git server's webhook deliveries: to Argo CD when
// posted to argoHook, else to the CI runner.
func Webhooks(deliveries []gitserver.WebhookDelivery, argoHook string) []sequence.Event {
	e := events{observer: WebhookDeliveries}
	for _, d := range deliveries {
		to := sequence.Jenkins
		if argoHook != "" && d.URL == argoHook {
			to = sequence.ArgoCD
		}
		e.add(d.Time, sequence.GitLab, to, "webhook: Push Hook %s (%d)", d.Ref, d.Status)
	}
	return e.out
}

// Build reads one CI build's stages. A stage that did not run says
// nothing. Running the unit tests (or the build) is the step whatever its
// outcome, so those carry their status; any other stage that failed is
// shown as that failure, never as the seed's step, and a reply (the source
// code, the pushed image, the updated chart) only when its stage passed.
func Build(b ci.BuildView) []sequence.Event {
	e := events{observer: CIRunner}
	for _, s := range b.Stages {
		if s.Status == ci.StatusSkipped || s.Status == ci.StatusPending {
			continue
		}
		passed := s.Status == ci.StatusPassed
		first := firstLine(strings.TrimSpace(s.Log))
		if !passed && s.Uses != "run" && s.Uses != "scan" {
			e.add(s.Started, sequence.Jenkins, sequence.Jenkins, "stage %q failed: %s", s.Name, firstLine(s.Error))
			continue
		}
		switch s.Uses {
		case "checkout":
			e.add(s.Started, sequence.Jenkins, sequence.GitLab, "git clone repository %s", b.Repo)
			e.add(s.Finished, sequence.GitLab, sequence.Jenkins, "← source code %s", short(b.Commit))
		case "run":
			cmd := strings.TrimPrefix(first, "+ ")
			if strings.Contains(cmd, " test") {
				e.add(s.Started, sequence.Jenkins, sequence.Jenkins, "run unit tests: %s (%s)", cmd, s.Status)
			} else {
				e.add(s.Started, sequence.Jenkins, sequence.Jenkins, "build: %s (%s)", cmd, s.Status)
			}
		case "image":
			e.add(s.Started, sequence.Jenkins, sequence.Jenkins, "docker build -t %s (OCI image, no Docker)", strings.TrimPrefix(first, "built "))
		case "login":
			e.add(s.Started, sequence.Jenkins, sequence.Harbor, "docker login: %s", first)
		case "push":
			e.add(s.Started, sequence.Jenkins, sequence.Harbor, "docker push %s", b.Image)
		case "scan":
			if passed {
				e.add(s.Finished, sequence.Harbor, sequence.Jenkins, "← image pushed successfully; %s", first)
			} else {
				e.add(s.Finished, sequence.Harbor, sequence.Jenkins, "← scan verdict refused the image: %s", s.Error)
			}
		case "git-clone":
			e.add(s.Started, sequence.Jenkins, sequence.GitLab, "git clone helm-repo %s", b.ChartRepo)
		case "set-value":
			e.add(s.Started, sequence.Jenkins, sequence.Jenkins, "update values.yaml (%s)", first)
		case "git-commit":
			e.add(s.Started, sequence.Jenkins, sequence.GitLab, "%s", strings.SplitN(first, ":", 2)[0])
		case "git-push":
			e.add(s.Started, sequence.Jenkins, sequence.GitLab, "git push origin main")
			e.add(s.Finished, sequence.GitLab, sequence.Jenkins, "← helm chart updated")
		}
	}
	return e.out
}

// Registry reads the registry's log: scans, and what the cluster's nodes
// (user nodes) pulled. A manifest pull alone is only "docker pull"; the
// layers are shown only when the nodes fetched blobs of that repository
// after it (a node that has the image unpacked fetches none), and a pull
// the policy denied is the registry's refusal.
func Registry(log []registry.Event, nodes string) []sequence.Event {
	e := events{observer: RegistryLog}
	for i, ev := range log {
		switch {
		case ev.Action == "scanned":
			e.add(ev.Time, sequence.Harbor, sequence.Harbor, "vulnerability scan of %s: %s", ev.Repository, ev.Detail)
		case ev.Action == "pull" && ev.User == nodes:
			e.add(ev.Time, sequence.Kubernetes, sequence.Harbor, "docker pull %s:%s", ev.Repository, ev.Reference)
			blobs, last := 0, ev.Time
			for _, b := range log[i+1:] {
				if b.Action == "pull" && b.User == nodes && b.Repository == ev.Repository {
					break // the next pull of the repository
				}
				if b.Action == "pull-blob" && b.User == nodes && b.Repository == ev.Repository {
					blobs++
					last = b.Time
				}
			}
			if blobs > 0 {
				e.add(last, sequence.Harbor, sequence.Kubernetes, "← image layers of %s (%d blobs)", ev.Repository, blobs)
				e.add(last.Add(time.Microsecond), sequence.Kubernetes, sequence.Kubernetes, "image pulled: %s:%s", ev.Repository, ev.Reference)
			}
		case ev.Action == "denied" && ev.User == nodes:
			e.add(ev.Time, sequence.Harbor, sequence.Kubernetes, "← pull denied: %s", ev.Detail)
		}
	}
	return e.out
}

// Pods reads one namespace's pod recording (role: the cluster's role). A
// rolling update is a pod of a new template created while a pod of
// another template of the same workload is still live: a workload's first
// pods are not one. A pod of a template that already has live pods is a
// scale-up of that template; one going while its template keeps live pods
// and nothing replaces it, a scale-down.
func Pods(pods []podwatch.Pod, role string) []sequence.Event {
	e := events{observer: PodRecording}
	live := func(q podwatch.Pod, at time.Time) bool {
		return !q.Leftover && !q.Created.After(at) && (q.Terminating.IsZero() || q.Terminating.After(at))
	}
	rolling := map[string]bool{} // workload/template already announced
	for i, p := range pods {
		hash := templateHash(p)
		if hash == "" || p.Leftover {
			continue
		}
		owner := workload(p.Name, hash)
		for _, q := range pods[:i] {
			if templateHash(q) == hash && live(q, p.Created) {
				e.add(p.Created.Add(-2*time.Microsecond), role, role, "scale deployment: one more replica of %s", hash)
				break
			}
		}
		if rolling[owner+"/"+hash] {
			continue
		}
		for _, q := range pods {
			if qh := templateHash(q); qh != "" && qh != hash && workload(q.Name, qh) == owner && live(q, p.Created) {
				rolling[owner+"/"+hash] = true
				e.add(p.Created.Add(-time.Microsecond), role, role, "rolling update of deployment %s to %s", owner, tag(p.Image))
				break
			}
		}
	}
	// A pod going while its template keeps live pods, and no pod of
	// another template of its workload has come to replace it, is a
	// scale-down (a rolling update's old pods go because new ones came).
	for _, p := range pods {
		hash := templateHash(p)
		if hash == "" || p.Leftover || p.Terminating.IsZero() {
			continue
		}
		owner := workload(p.Name, hash)
		kept, replaced := false, false
		for _, q := range pods {
			if q.UID == p.UID && q.Name == p.Name {
				continue
			}
			qh := templateHash(q)
			switch {
			case qh == hash && live(q, p.Terminating):
				kept = true
			case qh != "" && qh != hash && workload(q.Name, qh) == owner && live(q, p.Terminating):
				replaced = true
			}
		}
		if kept && !replaced {
			e.add(p.Terminating.Add(-time.Microsecond), role, role, "scale deployment: one fewer replica of %s", hash)
		}
	}
	for _, p := range pods {
		if p.Leftover {
			continue
		}
		t := tag(p.Image)
		e.add(p.Created, role, role, "create new pod %s (%s)", p.Name, t)
		if !p.Ready.IsZero() {
			e.add(p.Ready, role, role, "readiness probe passed: %s ready", p.Name)
		}
		if !p.Terminating.IsZero() {
			e.add(p.Terminating, role, role, "terminate old pod %s (%s)", p.Name, t)
		}
		if p.Waiting != "" && p.Waiting != "ContainerCreating" {
			e.add(p.Created.Add(time.Millisecond), role, role, "pod %s waiting: %s", p.Name, p.Waiting)
		}
	}
	return e.out
}

// templateHash is the label a ReplicaSet's pods carry (a Deployment's or,
// for a Rollout, Argo Rollouts').
func templateHash(p podwatch.Pod) string {
	if h := p.Labels["pod-template-hash"]; h != "" {
		return h
	}
	return p.Labels[engine.PodTemplateHashLabel]
}

// workload is the Deployment or Rollout a pod belongs to: its name is the
// workload's, the template hash and a suffix ("keycloak-6c9f4b99bd-wg9sc").
func workload(pod, hash string) string {
	if i := strings.LastIndex(pod, "-"+hash+"-"); i > 0 {
		return pod[:i]
	}
	return pod
}

func tag(image string) string { return image[strings.LastIndex(image, ":")+1:] }

// Mail reads the mail sink: each message Argo CD's notifications sent, to
// the admin or the developer.
func Mail(msgs []mailsink.Message) []sequence.Event {
	e := events{observer: MailSink}
	for _, m := range msgs {
		to := sequence.Developer
		if len(m.To) > 0 && strings.HasPrefix(m.To[0], "admin") {
			to = sequence.Admin
		}
		e.add(m.Received, sequence.ArgoCD, to, "notification: %s", m.Subject)
	}
	return e.out
}

// Scrapes reads when Prometheus first scraped each pod.
func Scrapes(first map[string]time.Time) []sequence.Event {
	e := events{observer: PrometheusScrapes}
	for pod, t := range first {
		e.add(t, sequence.Kubernetes, sequence.Prometheus, "Report metrics of pod %s (http_requests_total, http_request_duration_seconds)", pod)
	}
	sequence.Sort(e.out)
	return e.out
}

// Queries reads what Prometheus answered Argo Rollouts' analysis.
func Queries(qs []metrics.Query) []sequence.Event {
	e := events{observer: PrometheusQueries}
	for _, q := range qs {
		e.add(q.At, sequence.Prometheus, sequence.ArgoRollouts, "Canary metrics: %s = %s", strings.Join(strings.Fields(q.Expr), " "), q.Result)
	}
	return e.out
}

var (
	quotedSHA    = regexp.MustCompile(`'([0-9a-f]{40})'`)
	statusChange = regexp.MustCompile(`^Updated (sync|health) status: (\S+) -> (\S+)`)
	opPhase      = regexp.MustCompile(`^Updating operation state\. phase: (\w+) -> (\w+)`)
)

// Controller reads Argo CD's application controller log for the
// applications in apps (name -> the role of its destination cluster). A
// dry run is shown accepted only once the sync went on to apply (or ended
// for another reason); one the operation failed on is shown as failed.
func Controller(lines []engine.LogLine, apps map[string]string) []sequence.Event {
	e := events{observer: ControllerLog}
	// A dry run records only refusals: it was accepted when the sync went
	// on to apply, or ended for another reason than the dry run.
	dryRun := map[string]time.Time{} // app -> its pending dry run
	accepted := func(app, dest string) {
		if t, ok := dryRun[app]; ok {
			e.add(t.Add(time.Microsecond), dest, sequence.ArgoCD, "← dry run accepted")
			delete(dryRun, app)
		}
	}
	for _, l := range lines {
		app := l.Application()
		dest, ok := apps[app]
		if !ok {
			continue
		}
		msg := l.Message
		status, result, isResult := l.ResourceResult()
		switch {
		case strings.HasPrefix(msg, "Refreshing app status"):
			// The controller watches the live objects of every app; a
			// change to one of them requests a refresh.
			if strings.Contains(msg, "controller refresh requested") {
				e.add(l.Time.Add(-2*time.Microsecond), sequence.ArgoCD, dest, "watch: live resources of %s (refresh requested)", app)
				e.add(l.Time.Add(-time.Microsecond), dest, sequence.ArgoCD, "← live state changed")
			}
			e.add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "refresh app status of %s: %s", app, strings.TrimPrefix(msg, "Refreshing app status "))
		case strings.HasPrefix(msg, "Comparing app state"):
			e.add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "compare app state of %s (diff)", app)
		case strings.HasPrefix(msg, "Initiated automated sync"):
			sha := ""
			if m := quotedSHA.FindStringSubmatch(msg); m != nil {
				sha = short(m[1])
			}
			e.add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "auto-sync enabled: initiated automated sync of %s to %s", app, sha)
		case strings.HasPrefix(msg, "Skipping auto-sync"):
			e.add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "skip auto-sync of %s: %s", app, strings.TrimPrefix(msg, "Skipping auto-sync: "))
		case statusChange.MatchString(msg):
			m := statusChange.FindStringSubmatch(msg)
			e.add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "update %s status: %s → %s (%s)", m[1], m[2], m[3], app)
		case msg == "Tasks (dry-run)":
			e.add(l.Time, sequence.ArgoCD, dest, "tasks (dry-run) of %s", app)
			dryRun[app] = l.Time
		case msg == "Tasks":
			accepted(app, dest)
			e.add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "tasks: manifests of %s to apply", app)
		case msg == "Creating namespace":
			e.add(l.Time, sequence.ArgoCD, dest, "kubectl create namespace %s", l.Fields["namespace"])
		case msg == "Namespace already exists":
			e.add(l.Time, sequence.ArgoCD, dest, "namespace %s already exists", l.Fields["namespace"])
		case isResult:
			if status == "SyncFailed" {
				// Refused, by the dry run or the apply: not an object applied.
				e.add(l.Time, sequence.ArgoCD, dest, "apply refused: %s", result)
				break
			}
			accepted(app, dest) // a dry run records only refusals: this is the apply
			e.add(l.Time, sequence.ArgoCD, dest, "kubectl apply: %s", result)
			if strings.HasPrefix(result, "namespace/") && strings.HasSuffix(result, " created") {
				e.add(l.Time.Add(time.Microsecond), dest, sequence.ArgoCD, "← %s", strings.Replace(result, "namespace/", "namespace ", 1))
			}
		case opPhase.MatchString(msg):
			m := opPhase.FindStringSubmatch(msg)
			if m[2] == "Running" {
				break
			}
			if t, ok := dryRun[app]; ok && strings.Contains(msg, "(dry run)") {
				e.add(t.Add(time.Microsecond), dest, sequence.ArgoCD, "← dry run failed")
				delete(dryRun, app)
			}
			accepted(app, dest) // the operation ended after its dry run
			e.add(l.Time, dest, sequence.ArgoCD, "← sync operation %s (%s)", m[2], app)
		}
	}
	return e.out
}

// RepoServer reads Argo CD's repo-server log: renders and Git commands.
func RepoServer(lines []engine.LogLine) []sequence.Event {
	e := events{observer: RepoServerLog}
	for _, l := range lines {
		switch msg := l.Message; {
		case strings.HasPrefix(msg, "helm template"):
			e.add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "helm template %s", firstWords(strings.TrimPrefix(msg, "helm template "), 4))
		case strings.HasPrefix(msg, "git checkout"), strings.HasPrefix(msg, "git fetch"):
			e.add(l.Time, sequence.ArgoCD, sequence.ArgoCD, "%s", firstWords(msg, 5))
		}
	}
	return e.out
}

// RolloutChange reads one change of a canary Rollout's status (was ->
// now, seen at t) as the seed's canary steps, which Argo Rollouts takes
// (the seed gives them to "ArgoCD"). Weights are the ratio of ready pods (there is
// no traffic router), so a routing claim is left to the users' requests:
// the pods going is all the status shows.
func RolloutChange(t time.Time, was, now *engine.Rollout) []sequence.Event {
	e := events{observer: RolloutStatus}
	name := now.Name
	if was.Phase == "" {
		return nil // no status yet
	}
	if now.Steps == 0 {
		return blueGreenChange(t, was, now)
	}
	if now.Step != was.Step && now.Step > 0 && now.Step <= len(now.Weights) {
		if wt := now.Weights[now.Step-1]; wt >= 0 {
			first := true
			for _, x := range now.Weights[:now.Step-1] {
				first = first && x < 0
			}
			if first {
				e.add(t, sequence.ArgoRollouts, sequence.Kubernetes, "Deploy canary of %s (weight: %d%%)", name, wt)
			} else {
				e.add(t, sequence.ArgoRollouts, sequence.Kubernetes, "Scale canary of %s (weight: %d%%)", name, wt)
			}
		}
	}
	if now.Step == now.Steps && was.Step != now.Steps && !now.Aborted {
		e.add(t, sequence.ArgoRollouts, sequence.Kubernetes, "Full rollout of %s", name)
	}
	if now.UpdatedReplicas != was.UpdatedReplicas && now.Replicas > 0 && !now.Aborted {
		pct := now.UpdatedReplicas * 100 / now.Replicas
		if now.UpdatedReplicas == now.Replicas && now.Step == now.Steps {
			e.add(t, sequence.Kubernetes, sequence.Kubernetes, "Scale canary to 100%% (%d pods)", now.UpdatedReplicas)
		} else if now.UpdatedReplicas > 0 {
			e.add(t, sequence.Kubernetes, sequence.Kubernetes, "Update weights (%d%% stable, %d%% canary: ready pods)", 100-pct, pct)
		}
	}
	if now.Aborted && !was.Aborted {
		e.add(t, sequence.ArgoRollouts, sequence.Kubernetes, "Delete canary of %s (rollout aborted)", name)
	}
	if now.Aborted && now.UpdatedReplicas == 0 && was.UpdatedReplicas > 0 {
		e.add(t, sequence.Kubernetes, sequence.Kubernetes, "canary pods of %s gone: only stable pods left", name)
	}
	if now.Phase != was.Phase {
		switch {
		case now.Phase == "Healthy" && !now.Aborted:
			e.add(t, sequence.ArgoRollouts, sequence.ArgoRollouts, "Canary successful: %s Healthy", name)
		case now.Phase == "Degraded" && now.Aborted:
			e.add(t, sequence.ArgoRollouts, sequence.ArgoRollouts, "Canary failed, rolled back: %s Degraded", name)
		}
	}
	return e.out
}

// blueGreenChange reads a blue-green Rollout's change from its status: the
// Services' selectors (status.blueGreen) say which pods are in preview and
// which are active, so a new preview, a switch and an abort are Argo
// Rollouts' own record. A Rollout without them is not blue-green.
func blueGreenChange(t time.Time, was, now *engine.Rollout) []sequence.Event {
	e := events{observer: RolloutStatus}
	name := now.Name
	if now.ActiveHash == "" {
		return nil
	}
	if now.PreviewHash != was.PreviewHash && now.PreviewHash != "" && now.PreviewHash != now.ActiveHash {
		e.add(t, sequence.ArgoRollouts, sequence.Kubernetes, "Deploy green of %s behind the preview Service (pods %s)", name, now.PreviewHash)
	}
	if was.ActiveHash != "" && now.ActiveHash != was.ActiveHash {
		e.add(t, sequence.ArgoRollouts, sequence.Kubernetes, "Switch the active Service of %s to pods %s (was %s)", name, now.ActiveHash, was.ActiveHash)
	}
	if now.Aborted && !was.Aborted {
		e.add(t, sequence.ArgoRollouts, sequence.Kubernetes, "Abort %s: the active Service stays on pods %s", name, now.ActiveHash)
	}
	if now.Phase != was.Phase && now.Phase == "Healthy" && !now.Aborted {
		e.add(t, sequence.ArgoRollouts, sequence.ArgoRollouts, "Blue-green rollout of %s Healthy (active %s)", name, now.ActiveHash)
	}
	return e.out
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = append(f[:n], "...")
	}
	return strings.Join(f, " ")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
