package sequence

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func seedFlow(t *testing.T, n int) Flow {
	t.Helper()
	doc, err := os.ReadFile("../../features/seed/gitops-flows.md")
	require.NoError(t, err)
	flows, err := ParseSeed(doc)
	require.NoError(t, err)
	for _, f := range flows {
		if f.Number == n {
			return f
		}
	}
	t.Fatalf("no flow %d", n)
	return Flow{}
}

func observedLabels(c Coverage) []string {
	var out []string
	for _, s := range c.Steps {
		if s.Event != nil {
			out = append(out, s.Step.Label)
		}
	}
	return out
}

// Flow 4's step 2 (scale to 5) and step 13 (scale down 5->3) are both
// scalings of the Deployment: one event stands for one step only, and a
// scale-up never stands for the scale-down.
func TestCoverUsesAnEventForOneStepOnly(t *testing.T) {
	flow, play := seedFlow(t, 4), Plays[4]
	t0 := time.Unix(1_700_000_000, 0)
	up := func(s int) Event {
		return Event{Time: t0.Add(time.Duration(s) * time.Second), From: Kubernetes, To: Kubernetes, Message: "scale deployment: one more replica of 6c9f4b99bd", Observer: "pod recording"}
	}
	c := Cover(flow, play.Cast, play.Rules, []Event{up(1)})
	assert.Equal(t, []string{"2"}, observedLabels(c))

	c = Cover(flow, play.Cast, play.Rules, []Event{up(1), up(2)})
	assert.Equal(t, []string{"2"}, observedLabels(c), "the operator's second new pod is not Argo CD's scale-down")

	down := Event{Time: t0.Add(5 * time.Second), From: Kubernetes, To: Kubernetes, Message: "scale deployment: one fewer replica of 6c9f4b99bd", Observer: "pod recording"}
	c = Cover(flow, play.Cast, play.Rules, []Event{up(1), up(2), down})
	assert.Equal(t, []string{"2", "13"}, observedLabels(c))
}

// A system's step counts only from that system's own record; a person's
// step may come from the step that acted for them.
func TestCoverCreditsSystemsFromTheirOwnRecords(t *testing.T) {
	flow, play := seedFlow(t, 4), Plays[4]
	t0 := time.Unix(1_700_000_000, 0)
	events := []Event{
		{Time: t0, From: Operator, To: Kubernetes, Message: "kubectl scale deployment keycloak --replicas=5", Observer: StepObserver},
		{Time: t0.Add(time.Millisecond), From: Kubernetes, To: Kubernetes, Message: "scale deployment: one more replica of 6c9f4b99bd", Observer: StepObserver},
		{Time: t0.Add(2 * time.Millisecond), From: Kubernetes, To: Operator, Message: "← deployment scaled", Observer: StepObserver},
	}
	c := Cover(flow, play.Cast, play.Rules, events)
	assert.Equal(t, []string{"1"}, observedLabels(c), "the operator's own action counts; Kubernetes' steps written by a step do not")
	assert.Equal(t, StepObserver, c.Steps[0].Event.Observer)
}

// Matches follow the seed's order: a step seen before the one it follows
// in the seed is not credited after it.
func TestCoverFollowsTheSeedsOrder(t *testing.T) {
	flow, play := seedFlow(t, 4), Plays[4]
	t0 := time.Unix(1_700_000_000, 0)
	scaled := Event{Time: t0, From: Kubernetes, To: Operator, Message: "← deployment scaled", Observer: "pod recorder"}
	scale := Event{Time: t0.Add(time.Second), From: Operator, To: Kubernetes, Message: "kubectl scale deployment keycloak --replicas=5", Observer: StepObserver}
	c := Cover(flow, play.Cast, play.Rules, []Event{scaled, scale})
	assert.Len(t, observedLabels(c), 1, "step 3's event came before step 1's: only one of them is in order")
}
