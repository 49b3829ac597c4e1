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
    Given the Git server hosts "root/q-sign" from the "q-sign" fixture
    Then within 30s the aplication "q-sign" is "Synced" and "Healthy"
`), 0o644))
	err := CheckSteps([]string{dir})
	var unknown *UnknownStepsError
	require.ErrorAs(t, err, &unknown)
	require.Len(t, unknown.Steps, 1)
	assert.Contains(t, unknown.Steps[0], feature+":4: unknown step")
	assert.Contains(t, unknown.Steps[0], `within (\d+)s the application "([^"]*)" is "([^"]*)" and "([^"]*)"`)
}

func TestTheProjectsFeaturesUseOnlyKnownSteps(t *testing.T) {
	require.NoError(t, CheckSteps([]string{"../features"}))
}
