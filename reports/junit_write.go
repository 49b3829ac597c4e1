package reports

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"strconv"
	"time"
)

// JUnit as Rehearse writes it, from cucumber.json. godog's own JUnit
// formatter (v0.16.0) sets a testcase's status from its steps' results in
// the order of their IDs as strings, so in a scenario whose step IDs cross
// from 9 to 10 a failed step can be followed by a passed one and the
// testcase reads status="passed" with a <failure>, and failures="0": CI
// would count the run as passed.
type junitOutSuites struct {
	XMLName  xml.Name        `xml:"testsuites"`
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Skipped  int             `xml:"skipped,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Time     string          `xml:"time,attr"`
	Suites   []junitOutSuite `xml:"testsuite"`
}

type junitOutSuite struct {
	Name     string         `xml:"name,attr"`
	Tests    int            `xml:"tests,attr"`
	Skipped  int            `xml:"skipped,attr"`
	Failures int            `xml:"failures,attr"`
	Errors   int            `xml:"errors,attr"`
	Time     string         `xml:"time,attr"`
	Cases    []junitOutCase `xml:"testcase"`
}

type junitOutCase struct {
	Name    string           `xml:"name,attr"`
	Status  string           `xml:"status,attr"`
	Time    string           `xml:"time,attr"`
	Failure *junitOutMessage `xml:"failure,omitempty"`
	Error   *junitOutMessage `xml:"error,omitempty"`
	Skipped *struct{}        `xml:"skipped,omitempty"`
}

type junitOutMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
}

func seconds3(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// JUnitFromCucumber turns cucumber JSON (as godog writes it) into JUnit: a
// testsuite per feature, a testcase per scenario. A scenario with a failed
// step is a failure naming that step; one with an undefined, pending or
// ambiguous step is an error; one whose steps were all skipped is skipped.
func JUnitFromCucumber(name string, cucumber []byte) ([]byte, error) {
	var features []cucumberFeature
	if err := json.Unmarshal(cucumber, &features); err != nil {
		return nil, fmt.Errorf("reading cucumber JSON: %w", err)
	}
	out := junitOutSuites{Name: name}
	var total time.Duration
	for _, f := range features {
		suite := junitOutSuite{Name: f.Name}
		var suiteTime time.Duration
		seen := map[string]int{}
		for _, e := range f.Elements {
			if e.Type != "scenario" {
				continue
			}
			c := junitOutCase{Name: e.Name, Status: "passed"}
			// Outline rows share a name: number them as godog does.
			if seen[e.Name]++; seen[e.Name] > 1 {
				c.Name = fmt.Sprintf("%s #%d", e.Name, seen[e.Name])
			}
			var took time.Duration
			skipped := len(e.Steps) > 0
			for _, s := range e.Steps {
				took += time.Duration(s.Result.Duration)
				status := s.Result.Status
				skipped = skipped && status == "skipped"
				switch {
				case c.Failure != nil || c.Error != nil:
				case status == "failed":
					c.Status, c.Failure = "failed", &junitOutMessage{Message: fmt.Sprintf("Step %s: %s", s.Name, s.Result.Error)}
				case status == "undefined" || status == "pending" || status == "ambiguous":
					c.Status, c.Error = status, &junitOutMessage{Type: status, Message: "Step " + s.Name}
				}
			}
			switch {
			case c.Failure != nil:
				suite.Failures++
			case c.Error != nil:
				suite.Errors++
			case skipped:
				c.Status, c.Skipped = "skipped", &struct{}{}
				suite.Skipped++
			}
			c.Time = seconds3(took)
			suiteTime += took
			suite.Tests++
			suite.Cases = append(suite.Cases, c)
		}
		suite.Time = seconds3(suiteTime)
		total += suiteTime
		out.Tests += suite.Tests
		out.Skipped += suite.Skipped
		out.Failures += suite.Failures
		out.Errors += suite.Errors
		out.Suites = append(out.Suites, suite)
	}
	out.Time = seconds3(total)
	b, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// WriteJUnit writes junit.xml from the run's cucumber.json.
func (r *Run) WriteJUnit() error {
	raw, err := os.ReadFile(r.CucumberJSON())
	if err != nil {
		return fmt.Errorf("writing junit.xml: %w", err)
	}
	b, err := JUnitFromCucumber("rehearse", raw)
	if err != nil {
		return fmt.Errorf("writing junit.xml from %s: %w", r.CucumberJSON(), err)
	}
	return os.WriteFile(r.JUnitXML(), b, 0o644)
}
