package sequence

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func flowsByTag(t *testing.T) func([]string) (Flow, bool) {
	flows := map[int]Flow{4: seedFlow(t, 4), 7: seedFlow(t, 7)}
	return func(tags []string) (Flow, bool) {
		f, ok := flows[FlowOfTags(tags)]
		return f, ok
	}
}

const claimedFeature = `@flow-4
Feature: self-heal

  Background:
    Given the namespace "q-sign" does not exist
    # asserts seed step 17: a Then step in the background holds for every scenario
    Then the application "q-sign" is "Synced"

  Scenario: scaled and reverted
    When the operator scales deployment "keycloak" in "q-sign" to 5 replicas
    # asserts seed steps 13-15, 2: two pods go, replicas back to 3
    Then within 10s the deployment "keycloak" in "q-sign" is back to 3 replicas
    # a comment that claims nothing
    # asserts seed step 16
    And within 10s the application "q-sign" is "Synced" and "Healthy"

  Scenario: not claimed
    When the operator scales deployment "keycloak" in "q-sign" to 5 replicas
    Then within 10s the application "q-sign" is "OutOfSync"
`

func TestParseClaimsPlacesEachClaimOnItsThenStep(t *testing.T) {
	fc, err := ParseClaims("features/04.feature", []byte(claimedFeature), flowsByTag(t))
	require.NoError(t, err)
	got := fc.For("scaled and reverted", []string{
		`the namespace "q-sign" does not exist`,
		`the application "q-sign" is "Synced"`,
		`the operator scales deployment "keycloak" in "q-sign" to 5 replicas`,
		`within 10s the deployment "keycloak" in "q-sign" is back to 3 replicas`,
		`within 10s the application "q-sign" is "Synced" and "Healthy"`,
	})
	assert.Equal(t, []Claim{
		{Flow: 4, Labels: []string{"17"}, Step: "features/04.feature:7", Text: `the application "q-sign" is "Synced"`},
		{Flow: 4, Labels: []string{"13", "14", "15", "2"}, Step: "features/04.feature:12", Text: `within 10s the deployment "keycloak" in "q-sign" is back to 3 replicas`},
		{Flow: 4, Labels: []string{"16"}, Step: "features/04.feature:15", Text: `within 10s the application "q-sign" is "Synced" and "Healthy"`},
	}, got)
	other := fc.For("not claimed", []string{
		`the namespace "q-sign" does not exist`,
		`the application "q-sign" is "Synced"`,
		`the operator scales deployment "keycloak" in "q-sign" to 5 replicas`,
		`within 10s the application "q-sign" is "OutOfSync"`,
	})
	assert.Equal(t, []string{"17"}, other[0].Labels, "the background's claim")
	assert.Len(t, other, 1)
	assert.Nil(t, fc.For("no such scenario", nil))
}

// A range follows the seed's order, so it stays on its alt branch.
func TestParseClaimsExpandsRangesInTheSeedsOrder(t *testing.T) {
	src := "@flow-7\nFeature: canary\n  Scenario: s\n    # asserts seed steps 10a-12a, 10b\n    Then it is fine\n"
	fc, err := ParseClaims("c.feature", []byte(src), flowsByTag(t))
	require.NoError(t, err)
	got := fc.For("s", []string{"it is fine"})
	require.Len(t, got, 1)
	assert.Equal(t, []string{"10a", "11a", "12a", "10b"}, got[0].Labels)
}

// Every misplaced or malformed claim is an error naming its line; none is
// dropped quietly (a dropped claim would understate, a misread one
// overstate).
func TestParseClaimsRefusesWhatItCannotHold(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"on a When step": {"@flow-4\nFeature: f\n  Scenario: s\n    # asserts seed step 1\n    When the operator acts\n",
			"x.feature:4: a seed-step claim is on a When step (line 5); only a Then step checks an effect"},
		"on an And after a Given": {"@flow-4\nFeature: f\n  Scenario: s\n    Given a\n    # asserts seed step 1\n    And b\n",
			"x.feature:5: a seed-step claim is on a And step (line 6)"},
		"no flow tag": {"Feature: f\n  Scenario: s\n    # asserts seed step 1\n    Then a\n",
			`x.feature:3: scenario "s" claims seed steps but has no @flow-N tag`},
		"unknown step": {"@flow-4\nFeature: f\n  Scenario: s\n    # asserts seed step 18\n    Then a\n",
			"x.feature:4: flow 4 has no step 18 (its steps are 1 to 17)"},
		"backwards range": {"@flow-4\nFeature: f\n  Scenario: s\n    # asserts seed steps 5-3\n    Then a\n",
			"x.feature:4: the range 5-3 goes backwards"},
		"not a number": {"@flow-4\nFeature: f\n  Scenario: s\n    # asserts seed steps all of them\n    Then a\n",
			`x.feature:4: "# asserts seed steps all of them": write the seed steps as numbers or ranges`},
		"above a scenario": {"@flow-4\nFeature: f\n  Scenario: s\n    Then a\n  # asserts seed step 1\n  Scenario: t\n    Then b\n",
			"x.feature:5: a seed-step claim must be right above the Then step that checks it"},
		"at the end": {"@flow-4\nFeature: f\n  Scenario: s\n    Then a\n    # asserts seed step 1\n",
			"x.feature:5: a seed-step claim must be right above the Then step"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseClaims("x.feature", []byte(tc.src), flowsByTag(t))
			var ce *ClaimError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestAssertTurnsClaimsIntoVerdicts(t *testing.T) {
	flow, play := seedFlow(t, 4), Plays[4]
	scaled := Event{From: Operator, To: Kubernetes, Message: "kubectl scale deployment keycloak --replicas=5", Observer: StepObserver}
	c := Cover(flow, play.Cast, play.Rules, []Event{scaled})
	assert.Equal(t, []int{0, 1, 16}, []int{c.Asserted, c.Observed, c.Missing})
	c.Assert([]Claim{
		{Flow: 4, Labels: []string{"1", "2"}, Step: "f:9"},
		{Flow: 4, Labels: []string{"2"}, Step: "f:12"},
		{Flow: 7, Labels: []string{"3"}, Step: "g:1"}, // another flow's: ignored
	})
	assert.Equal(t, []int{2, 0, 15}, []int{c.Asserted, c.Observed, c.Missing})
	assert.Equal(t, Asserted, c.Steps[0].Verdict)
	assert.NotNil(t, c.Steps[0].Event, "the record that shows it stays")
	assert.Equal(t, "f:9", c.Steps[1].AssertedBy, "the first claim names it")
	assert.Equal(t, Missing, c.Steps[2].Verdict)
}

// The project's own features parse: every claim is on a Then step and
// names steps of its flow (the run refuses to start otherwise, so this
// catches a slip without a cluster).
func TestTheFeaturesClaimsParse(t *testing.T) {
	doc, err := os.ReadFile("../../features/seed/gitops-flows.md")
	require.NoError(t, err)
	flows, err := ParseSeed(doc)
	require.NoError(t, err)
	byNumber := map[int]Flow{}
	for _, f := range flows {
		byNumber[f.Number] = f
	}
	files, err := filepath.Glob("../../features/*.feature")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	claimed := 0
	for _, path := range files {
		src, err := os.ReadFile(path)
		require.NoError(t, err)
		fc, err := ParseClaims(path, src, func(tags []string) (Flow, bool) {
			f, ok := byNumber[FlowOfTags(tags)]
			return f, ok
		})
		require.NoError(t, err, path)
		for _, cs := range fc.byPickle {
			claimed += len(cs)
		}
	}
	assert.Positive(t, claimed)
}

// A step Rehearse says it does not reproduce has no rule that could
// observe it anyway: the two would contradict each other.
func TestNotReproducedStepsHaveNoRules(t *testing.T) {
	for n, play := range Plays {
		for _, r := range play.Rules {
			if why, ok := play.NotReproduced[r.Step]; ok {
				t.Errorf("flow %d step %s has a rule (%s) and is not reproduced (%s)", n, r.Step, r.Message, why)
			}
		}
	}
}
