package steps

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckStepsNamesFileLineAndClosestPattern(t *testing.T) {
	dir := t.TempDir()
	feature := filepath.Join(dir, "typo.feature")
	require.NoError(t, os.WriteFile(feature, []byte(`Feature: typo
  Scenario: one
    Given the Git server hosts "root/q-sign" from the folder "q-sign"
    Then within 30s the aplication "q-sign" is "Synced" and "Healthy"
`), 0o644))
	err := CheckSteps([]string{dir})
	var unknown *UnknownStepsError
	require.ErrorAs(t, err, &unknown)
	require.Len(t, unknown.Steps, 1)
	assert.Contains(t, unknown.Steps[0], feature+":4: unknown step")
	assert.Contains(t, unknown.Steps[0], `within (\d+)s the application "([^"]*)" is "([^"]*)" and "([^"]*)"`)
}

func TestCheckStepsNamesTheLineOfAMalformedFeatureFile(t *testing.T) {
	dir := t.TempDir()
	feature := filepath.Join(dir, "malformed.feature")
	// A file has one Feature.
	require.NoError(t, os.WriteFile(feature, []byte(`Feature: malformed
  Scenario: one
    Given the Git server hosts "root/q-sign" from the folder "q-sign"

Feature: again
`), 0o644))
	// A well-formed file beside it with an unknown step: the syntax error
	// is what is reported, since the steps of a broken file are unknowable.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fine.feature"), []byte("Feature: fine\n  Scenario: s\n    Given no such step\n"), 0o644))
	err := CheckSteps([]string{dir})
	var syntax *FeatureSyntaxError
	require.ErrorAs(t, err, &syntax)
	assert.Equal(t, feature, syntax.Path)
	require.Len(t, syntax.Problems, 1, "%v", syntax.Problems)
	assert.Contains(t, syntax.Problems[0], feature+":5:1: ")
	assert.Contains(t, syntax.Problems[0], "got 'Feature: again'")
	assert.Contains(t, err.Error(), "nothing was started")
}

func TestTheProjectsFeaturesUseOnlyKnownSteps(t *testing.T) {
	require.NoError(t, CheckSteps([]string{"../features"}))
}

// BenchmarkCheckSteps is the check every run makes before it starts
// anything: every step of every feature against the step catalogue.
func BenchmarkCheckSteps(b *testing.B) {
	for b.Loop() {
		if err := CheckSteps([]string{"../features"}); err != nil {
			b.Fatal(err)
		}
	}
}

// A misplaced seed-step claim stops the run before anything starts, with
// its file and line, like an unknown step.
func TestRunRefusesAMisplacedSeedStepClaimBeforeStarting(t *testing.T) {
	dir := t.TempDir()
	seed, err := os.ReadFile("../features/seed/gitops-flows.md")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "seed"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, SeedDocument), seed, 0o644))
	feature := filepath.Join(dir, "heal.feature")
	require.NoError(t, os.WriteFile(feature, []byte(`@flow-4
Feature: heal
  Scenario: one
    # asserts seed step 1
    When the operator scales deployment "keycloak" in "q-sign" to 5 replicas
    # asserts seed step 99
    Then within 10s the application "q-sign" is "OutOfSync"
`), 0o644))
	_, err = Run(t.Context(), RunOptions{Paths: []string{dir}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), feature+":4: a seed-step claim is on a When step (line 5)")
	assert.Contains(t, err.Error(), feature+":6: flow 4 has no step 99")
}
