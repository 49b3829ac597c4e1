package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/reports"
)

func TestCPUProfileIsWrittenWhenStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rehearse.cpu.pprof")
	stop, err := startCPUProfile(path)
	require.NoError(t, err)
	busy := 0
	for i := 0; i < 5_000_000; i++ {
		busy += i % 7
	}
	stop()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	// A pprof profile is a gzipped protocol buffer.
	require.Greater(t, len(b), 2, "profile is empty (busy=%d)", busy)
	assert.Equal(t, []byte{0x1f, 0x8b}, b[:2], "not a gzipped pprof profile")
}

func TestCPUProfileRefusesAnUnwritablePath(t *testing.T) {
	_, err := startCPUProfile(filepath.Join(t.TempDir(), "missing", "cpu.pprof"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--cpu-profile")
}

// A report CI cannot trust fails the run: checkReportFiles names the file
// and what is wrong with it.
func TestBrokenReportFilesAreFound(t *testing.T) {
	run, err := reports.NewRun(t.TempDir(), time.Now())
	require.NoError(t, err)
	goodJUnit := `<testsuites name="rehearse" tests="1"><testsuite name="f" tests="1" failures="0" errors="0" time="1"><testcase name="s" status="passed" time="1"></testcase></testsuite></testsuites>`
	goodCucumber := `[{"uri":"f.feature","elements":[{"type":"scenario","name":"s","line":2,"steps":[{"name":"x","line":3,"result":{"status":"passed"}}]}]}]`
	write := func(junit, cucumber string) {
		require.NoError(t, os.WriteFile(run.JUnitXML(), []byte(junit), 0o644))
		require.NoError(t, os.WriteFile(run.CucumberJSON(), []byte(cucumber), 0o644))
	}
	write(goodJUnit, goodCucumber)
	assert.Empty(t, checkReportFiles(run, 1))

	problems := checkReportFiles(run, 2)
	require.Len(t, problems, 2)
	assert.Contains(t, problems[0], "junit.xml: 1 scenarios, but the run played 2")
	assert.Contains(t, problems[1], "cucumber.json: 1 scenarios, but the run played 2")

	write(`<testsuites name="rehearse" tests="1"><testsuite name="f" tests="1" failures="0" errors="0" time="1"><testcase name="s" time="1"><failure message="m"></failure></testcase></testsuite></testsuites>`, goodCucumber)
	problems = checkReportFiles(run, 1)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], "failures=0 and errors=0 but 1 testcases failed or erred")

	write(goodJUnit, `[{"uri":"f.feature","elements":[`)
	problems = checkReportFiles(run, 1)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], "cucumber.json: unexpected end of JSON input")

	require.NoError(t, os.Remove(run.JUnitXML()))
	problems = checkReportFiles(run, 1)
	assert.Contains(t, problems[0], "junit.xml: no such file")
}
