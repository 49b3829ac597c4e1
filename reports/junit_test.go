package reports

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
	godogJUnit := filepath.Join(dir, "godog-junit.xml")
	var sink bytes.Buffer
	status := godog.TestSuite{
		Name: "demo",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			sc.Step(`^a step that passes$`, func(context.Context) error { return nil })
			sc.Step(`^a step that fails$`, func(context.Context) error { return errors.New("it failed") })
		},
		Options: &godog.Options{Format: "progress,junit:" + godogJUnit + ",cucumber:" + cucumber, Paths: []string{feature}, Output: &sink, NoColors: true},
	}.Run()
	assert.Equal(t, 1, status)
	raw, err := os.ReadFile(cucumber)
	require.NoError(t, err)
	b, err := JUnitFromCucumber("demo", raw)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(out, b, 0o644))
	n, err := ValidateJUnit(out)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "one testcase per scenario")
	raw, _ = os.ReadFile(out)
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

// godog's own JUnit formatter (v0.16.0) orders a scenario's step results by
// their IDs as strings: once they cross from 9 to 10 (six steps here: the
// Gherkin nodes take IDs 0-6, the steps to run 7-12), a failed last step is
// followed by passed ones and the testcase reads "passed", failures="0".
// Rehearse's JUnit, from cucumber.json, says failed.
func TestJUnitFromCucumberCountsAFailureGodogMisses(t *testing.T) {
	dir := t.TempDir()
	feature := filepath.Join(dir, "long.feature")
	var steps strings.Builder
	for i := 0; i < 5; i++ {
		steps.WriteString("    Given a step that passes\n")
	}
	require.NoError(t, os.WriteFile(feature, []byte("Feature: long\n  Scenario: fails last\n"+steps.String()+"    Then a step that fails\n"), 0o644))
	cucumber := filepath.Join(dir, "cucumber.json")
	godogJUnit := filepath.Join(dir, "godog-junit.xml")
	var sink bytes.Buffer
	status := godog.TestSuite{
		Name: "long",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			sc.Step(`^a step that passes$`, func(context.Context) error { return nil })
			sc.Step(`^a step that fails$`, func(context.Context) error { return errors.New("it failed") })
		},
		Options: &godog.Options{Format: "junit:" + godogJUnit + ",cucumber:" + cucumber, Paths: []string{feature}, Output: &sink, NoColors: true},
	}.Run()
	require.Equal(t, 1, status)
	_, err := ValidateJUnit(godogJUnit)
	assert.ErrorContains(t, err, "failures=0 and errors=0 but 1 testcases failed or erred", "godog's bug, still there: if this fails, godog fixed it")

	raw, err := os.ReadFile(cucumber)
	require.NoError(t, err)
	b, err := JUnitFromCucumber("long", raw)
	require.NoError(t, err)
	out := filepath.Join(dir, "junit.xml")
	require.NoError(t, os.WriteFile(out, b, 0o644))
	n, err := ValidateJUnit(out)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Contains(t, string(b), `failures="1"`)
	assert.Contains(t, string(b), `status="failed"`)
	assert.Contains(t, string(b), `message="Step a step that fails: it failed"`)
}

func TestJUnitFromCucumberErrorsAndSkips(t *testing.T) {
	b, err := JUnitFromCucumber("x", []byte(`[{"uri":"a.feature","name":"A","elements":[
	  {"type":"scenario","name":"undefined","steps":[{"name":"ok","result":{"status":"passed","duration":1000000}},{"name":"what","result":{"status":"undefined"}}]},
	  {"type":"scenario","name":"all skipped","steps":[{"name":"s","result":{"status":"skipped"}}]},
	  {"type":"scenario","name":"twice","steps":[{"name":"ok","result":{"status":"passed"}}]},
	  {"type":"scenario","name":"twice","steps":[{"name":"ok","result":{"status":"passed"}}]}]}]`))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "junit.xml")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	n, err := ValidateJUnit(path)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	s := string(b)
	assert.Contains(t, s, `<testcase name="undefined" status="undefined" time="0.001">`)
	assert.Contains(t, s, `<error message="Step what" type="undefined"></error>`)
	assert.Contains(t, s, `<testcase name="all skipped" status="skipped"`)
	assert.Contains(t, s, `name="twice #2"`)
	assert.Contains(t, s, `tests="4" skipped="1" failures="0" errors="1"`)
	_, err = JUnitFromCucumber("x", []byte(`[{`))
	assert.ErrorContains(t, err, "reading cucumber JSON")
}
