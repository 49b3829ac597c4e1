package sequence

import (
	"os"
	"testing"
	"time"
)

// Matching observations to the seed never panics and stays consistent:
// observed steps carry their event, in-order steps never go back in time,
// and the score never exceeds the flow's steps.
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
			events = append(events, Event{Time: t0.Add(time.Duration((k*37)%1000) * time.Millisecond),
				From: roles[k%len(roles)], To: roles[(k/3)%len(roles)], Message: m})
		}
		c := Cover(flow, play.Cast, play.Rules, events)
		if c.Observed > c.Total || len(c.Steps) != c.Total {
			t.Fatalf("observed %d of %d with %d step results", c.Observed, c.Total, len(c.Steps))
		}
		var last time.Time
		for _, s := range c.Steps {
			if s.Observed && s.Event == "" && len(events) > 0 && s.At.IsZero() {
				t.Fatalf("step %s observed without an event", s.Step.Label)
			}
			if s.InOrder {
				if s.At.Before(last) {
					t.Fatalf("step %s in order but before the previous one", s.Step.Label)
				}
				last = s.At
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
