package reports

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cucumber/godog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The JUnit report is godog's own formatter's output; this runs a small
// suite through it and checks the file against the schema's rules, so a
// godog upgrade that changes the layout fails here.
func TestGodogJUnitFollowsTheSchema(t *testing.T) {
	dir := t.TempDir()
	feature := filepath.Join(dir, "demo.feature")
	require.NoError(t, os.WriteFile(feature, []byte(`Feature: demo
  Scenario: good
    Given a step that passes
  Scenario: bad
    Given a step that fails
  Scenario: also good
    Given a step that passes
`), 0o644))
	out := filepath.Join(dir, "junit.xml")
	cucumber := filepath.Join(dir, "cucumber.json")
	var sink bytes.Buffer
	status := godog.TestSuite{
		Name: "demo",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			sc.Step(`^a step that passes$`, func(context.Context) error { return nil })
			sc.Step(`^a step that fails$`, func(context.Context) error { return errors.New("it failed") })
		},
		Options: &godog.Options{Format: "progress,junit:" + out + ",cucumber:" + cucumber, Paths: []string{feature}, Output: &sink, NoColors: true},
	}.Run()
	assert.Equal(t, 1, status)
	n, err := ValidateJUnit(out)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "one testcase per scenario")
	raw, _ := os.ReadFile(out)
	assert.Contains(t, string(raw), `message="Step a step that fails: it failed"`)
	n, err = ValidateCucumber(cucumber)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "godog's cucumber.json holds every scenario")

	require.NoError(t, os.WriteFile(out, []byte(`<testsuites name="x" tests="2"><testsuite name="s" tests="2" failures="0" errors="0" time="1"><testcase name="a" time="1"/></testsuite></testsuites>`), 0o644))
	_, err = ValidateJUnit(out)
	assert.ErrorContains(t, err, "tests=2 but 1 testcases")
}

func TestValidateCucumberRefusesBrokenFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cucumber.json")
	for _, c := range []struct{ name, text, want string }{
		{"cut short", `[{"uri":"a.feature","elements":[`, "unexpected end of JSON input"},
		{"not an array", `{"uri":"a.feature"}`, "cannot unmarshal object"},
		{"no uri", `[{"name":"f","elements":[]}]`, `feature 1 ("f") has no uri`},
		{"unnamed scenario", `[{"uri":"a.feature","elements":[{"type":"scenario","line":3,"steps":[]}]}]`, "a.feature:3: a scenario without a name"},
		{"unknown status", `[{"uri":"a.feature","elements":[{"type":"scenario","name":"s","line":3,"steps":[{"name":"x","line":4,"result":{"status":"weird"}}]}]}]`, `a.feature:4: step "x" has status "weird"`},
		{"missing status", `[{"uri":"a.feature","elements":[{"type":"scenario","name":"s","line":3,"steps":[{"name":"x","line":4}]}]}]`, `has status ""`},
	} {
		require.NoError(t, os.WriteFile(path, []byte(c.text), 0o644))
		_, err := ValidateCucumber(path)
		assert.ErrorContains(t, err, c.want, c.name)
	}
	require.NoError(t, os.WriteFile(path, []byte(`[{"uri":"a.feature","elements":[{"type":"background","name":"","steps":[]},{"type":"scenario","name":"s","line":3,"steps":[{"name":"x","line":4,"result":{"status":"passed"}}]}]}]`), 0o644))
	n, err := ValidateCucumber(path)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "a background is not a scenario")
}
