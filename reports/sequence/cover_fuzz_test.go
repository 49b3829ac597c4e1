package sequence

import (
	"os"
	"testing"
	"time"
)

// Matching observations to the seed never panics and stays consistent:
// each observed step names a credible input event its rules match, later
// than the previous observed step's and used once; no unobserved step had
// a matching event between its observed neighbours'; the score never
// exceeds the flow's steps.
func FuzzCover(f *testing.F) {
	doc, err := os.ReadFile("../../features/seed/gitops-flows.md")
	if err != nil {
		f.Fatal(err)
	}
	flows, err := ParseSeed(doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(1), []byte("git push origin main|webhook trigger: push to refs/heads/main|docker push x"), uint16(7))
	f.Add(uint8(3), []byte("update values.yaml (replicaCount: 3)|git commit & push origin main: x"), uint16(1))
	f.Add(uint8(1), []byte("git push origin main|git push origin main|webhook trigger: push to refs/heads/main|webhook: Push Hook|git clone repository|← source code"), uint16(0))
	f.Add(uint8(4), []byte("kubectl scale deployment keycloak --replicas=5|scale deployment keycloak to 5 replicas|← deployment scaled"), uint16(3))
	roles := []string{Developer, Admin, Operator, GitLab, Jenkins, Harbor, ArgoCD, Kubernetes, ClusterRole("prod")}
	f.Fuzz(func(t *testing.T, flowN uint8, messages []byte, seed uint16) {
		var flow Flow
		for _, fl := range flows {
			if fl.Number == int(flowN%9) {
				flow = fl
			}
		}
		play := Plays[flow.Number]
		t0 := time.Unix(1_700_000_000, 0)
		var events []Event
		for i, m := range splitBytes(messages, '|') {
			k := int(seed) + i*7
			from, to := roles[k%len(roles)], roles[(k/3)%len(roles)]
			// Most events go between the roles of one of the flow's steps,
			// so that rules can match them at all.
			if len(flow.Steps) > 0 && k%4 != 0 {
				st := flow.Steps[(k/4)%len(flow.Steps)]
				from, to = play.Cast[st.From], play.Cast[st.To]
			}
			events = append(events, Event{Time: t0.Add(time.Duration((k*37)%1000) * time.Millisecond),
				From: from, To: to, Message: m})
		}
		c := Cover(flow, play.Cast, play.Rules, events)
		if c.Asserted != 0 || c.Observed+c.Missing != c.Total || len(c.Steps) != c.Total {
			t.Fatalf("%d asserted, %d observed, %d missing of %d with %d step results (no claims were given)", c.Asserted, c.Observed, c.Missing, c.Total, len(c.Steps))
		}
		matches := func(step Step, e Event) bool {
			if !Credible(step, play.Cast, e) {
				return false
			}
			for _, r := range play.Rules {
				if r.Step == step.Label && r.Match(step, play.Cast, e) {
					return true
				}
			}
			return false
		}
		// Where each observed step's event sits in the sorted events.
		at := make([]int, len(c.Steps))
		used := map[int]bool{}
		prev := -1
		for j, s := range c.Steps {
			at[j] = -1
			if s.Event == nil {
				if s.Verdict != Missing {
					t.Fatalf("step %s has no event but the verdict %q", s.Step.Label, s.Verdict)
				}
				continue
			}
			if s.Verdict != Observed {
				t.Fatalf("step %s has an event but the verdict %q", s.Step.Label, s.Verdict)
			}
			for k := prev + 1; k < len(events); k++ {
				if !used[k] && events[k].Time.Equal(s.Event.Time) && events[k].Message == s.Event.Message && matches(s.Step, events[k]) {
					at[j] = k
					break
				}
			}
			if at[j] < 0 {
				t.Fatalf("step %s observed as %q at %s: no matching, credible, unused event after the previous step's", s.Step.Label, s.Event.Message, s.Event.Time)
			}
			used[at[j]], prev = true, at[j]
		}
		// No unobserved step could have been observed between its
		// observed neighbours' events: the score is not improvable there.
		for j, s := range c.Steps {
			if s.Event != nil {
				continue
			}
			lo, hi := -1, len(events)
			for p := j - 1; p >= 0; p-- {
				if at[p] >= 0 {
					lo = at[p]
					break
				}
			}
			for n := j + 1; n < len(c.Steps); n++ {
				if at[n] >= 0 {
					hi = at[n]
					break
				}
			}
			for k := lo + 1; k < hi; k++ {
				if matches(s.Step, events[k]) {
					t.Fatalf("step %s not observed, but event %d (%q) between its neighbours' matches it", s.Step.Label, k, events[k].Message)
				}
			}
		}
		d := Build(flow, play.Cast, events)
		_ = d.Mermaid()
		_ = d.SVG()
	})
}

func splitBytes(b []byte, sep byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == sep {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return append(out, string(b[start:]))
}
