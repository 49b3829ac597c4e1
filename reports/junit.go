package reports

import (
	"encoding/xml"
	"fmt"
	"os"
	"strconv"
)

// JUnit's layout as Jenkins' JUnit schema (junit-10.xsd) describes it,
// which CI servers read: testsuites > testsuite > testcase, failures as
// <failure message="..."> children.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    string       `xml:"tests,attr"`
	Failures string       `xml:"failures,attr"`
	Errors   string       `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
	Other    []xml.Name   `xml:",any"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    string      `xml:"tests,attr"`
	Failures string      `xml:"failures,attr"`
	Errors   string      `xml:"errors,attr"`
	Skipped  string      `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
	Other    []xml.Name  `xml:",any"`
}

type junitCase struct {
	Name     string `xml:"name,attr"`
	Status   string `xml:"status,attr"`
	Time     string `xml:"time,attr"`
	Failures []struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
	} `xml:"failure"`
	Errors []struct {
		Message string `xml:"message,attr"`
	} `xml:"error"`
	Skipped []struct{} `xml:"skipped"`
}

// ValidateJUnit checks a junit.xml against that schema's rules (required
// attributes, numeric counts and times, counts that match the children)
// and returns the number of test cases.
func ValidateJUnit(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var s junitSuites
	if err := xml.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	bad := func(format string, a ...any) (int, error) {
		return 0, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...))
	}
	if len(s.Other) > 0 {
		return bad("unexpected element <%s> in <testsuites>", s.Other[0].Local)
	}
	number := func(what, v string, integer bool) error {
		if integer {
			if _, err := strconv.Atoi(v); err != nil {
				return fmt.Errorf("%s=%q is not a count", what, v)
			}
			return nil
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%s=%q is not a number of seconds", what, v)
		}
		return nil
	}
	total := 0
	for i, suite := range s.Suites {
		where := fmt.Sprintf("testsuite %d (%q)", i+1, suite.Name)
		if suite.Name == "" {
			return bad("%s has no name", where)
		}
		if len(suite.Other) > 0 {
			return bad("%s: unexpected element <%s>", where, suite.Other[0].Local)
		}
		for _, c := range [][2]string{{"tests", suite.Tests}, {"failures", suite.Failures}, {"errors", suite.Errors}} {
			if err := number(c[0], c[1], true); err != nil {
				return bad("%s: %v", where, err)
			}
		}
		if err := number("time", suite.Time, false); err != nil {
			return bad("%s: %v", where, err)
		}
		failures := 0
		for j, c := range suite.Cases {
			if c.Name == "" {
				return bad("%s: testcase %d has no name", where, j+1)
			}
			if err := number("time", c.Time, false); err != nil {
				return bad("%s: testcase %q: %v", where, c.Name, err)
			}
			switch c.Status {
			case "", "passed", "failed", "skipped", "undefined", "pending", "ambiguous":
			default:
				return bad("%s: testcase %q: status %q", where, c.Name, c.Status)
			}
			for _, f := range c.Failures {
				if f.Message == "" {
					return bad("%s: testcase %q: <failure> without a message", where, c.Name)
				}
			}
			if len(c.Failures) > 0 || len(c.Errors) > 0 {
				failures++
			}
		}
		if n, _ := strconv.Atoi(suite.Tests); n != len(suite.Cases) {
			return bad("%s: tests=%d but %d testcases", where, n, len(suite.Cases))
		}
		nf, _ := strconv.Atoi(suite.Failures)
		ne, _ := strconv.Atoi(suite.Errors)
		if nf+ne != failures {
			return bad("%s: failures=%d and errors=%d but %d testcases failed or erred", where, nf, ne, failures)
		}
		total += len(suite.Cases)
	}
	if n, err := strconv.Atoi(s.Tests); err != nil || n != total {
		return bad("testsuites tests=%q but %d testcases", s.Tests, total)
	}
	return total, nil
}
