package steps

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"
)

// UnknownStepsError lists steps no definition matches, each with its file,
// line and the closest known patterns.
type UnknownStepsError struct{ Steps []string }

func (e *UnknownStepsError) Error() string {
	return fmt.Sprintf("%d unknown or ambiguous step(s); `rehearse steps` lists the known ones:\n%s", len(e.Steps), strings.Join(e.Steps, "\n"))
}

// FeatureSyntaxError is a feature file that Gherkin cannot parse. Each
// problem reads file:line:column: message, the form editors and CI logs
// turn into a link to the line.
type FeatureSyntaxError struct {
	Path     string
	Problems []string
	Err      error
}

func (e *FeatureSyntaxError) Error() string {
	return fmt.Sprintf("malformed feature file %s (nothing was started):\n%s", e.Path, strings.Join(e.Problems, "\n"))
}

func (e *FeatureSyntaxError) Unwrap() error { return e.Err }

// gherkinProblem is one line of Gherkin's parse error: "(line:column): message".
var gherkinProblem = regexp.MustCompile(`^\((\d+):(\d+)\): (.*)$`)

func syntaxError(path string, err error) *FeatureSyntaxError {
	e := &FeatureSyntaxError{Path: path, Err: err}
	for _, line := range strings.Split(err.Error(), "\n") {
		if m := gherkinProblem.FindStringSubmatch(line); m != nil {
			e.Problems = append(e.Problems, fmt.Sprintf("%s:%s:%s: %s", path, m[1], m[2], m[3]))
		}
	}
	if len(e.Problems) == 0 {
		e.Problems = []string{path + ": " + err.Error()}
	}
	return e
}

// featureFile reads a feature path as godog does: file.feature:LINE
// selects one scenario of the file.
func featureFile(path string) (file string, oneScenario bool) {
	if i := strings.LastIndexByte(path, ':'); i > 0 && strings.HasSuffix(path[:i], ".feature") {
		return path[:i], true
	}
	return path, false
}

// CheckSteps parses the feature files under paths and reports, before
// anything is started, every file Gherkin cannot parse and every step that
// no definition matches.
func CheckSteps(paths []string) error { return checkSteps(paths, nil) }

// checkSteps is CheckSteps with the user's steps known too.
func checkSteps(paths []string, user []UserStep) error {
	var unknown []string
	var malformed []error
	matcher := newStepMatcher()
	for _, u := range user {
		if err := u.check(); err != nil {
			return err
		}
		matcher.defs = append(matcher.defs, StepDef{Pattern: u.Pattern, Doc: u.Doc, user: true})
		matcher.patterns = append(matcher.patterns, regexp.MustCompile(u.Pattern))
	}
	for _, root := range paths {
		root, _ = featureFile(root)
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".feature") {
				return err
			}
			found, err := unknownStepsIn(path, matcher)
			var syntax *FeatureSyntaxError
			if errors.As(err, &syntax) {
				malformed = append(malformed, syntax)
				return nil
			}
			unknown = append(unknown, found...)
			return err
		})
		if err != nil {
			return err
		}
	}
	if len(malformed) > 0 {
		return errors.Join(malformed...)
	}
	if len(unknown) > 0 {
		return &UnknownStepsError{Steps: unknown}
	}
	return nil
}

func unknownStepsIn(path string, matcher *stepMatcher) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ids := &messages.Incrementing{}
	doc, err := gherkin.ParseGherkinDocument(f, ids.NewId)
	if err != nil {
		return nil, syntaxError(path, err)
	}
	if doc.Feature == nil {
		return nil, nil // an empty file, or one of comments only: godog skips it too
	}
	lines := map[string]int64{}
	var collect func(children []*messages.FeatureChild)
	addSteps := func(steps []*messages.Step) {
		for _, s := range steps {
			lines[s.Id] = s.Location.Line
		}
	}
	collect = func(children []*messages.FeatureChild) {
		for _, c := range children {
			switch {
			case c.Background != nil:
				addSteps(c.Background.Steps)
			case c.Scenario != nil:
				addSteps(c.Scenario.Steps)
			case c.Rule != nil:
				for _, rc := range c.Rule.Children {
					if rc.Background != nil {
						addSteps(rc.Background.Steps)
					}
					if rc.Scenario != nil {
						addSteps(rc.Scenario.Steps)
					}
				}
			}
		}
	}
	collect(doc.Feature.Children)
	seen := map[string]bool{}
	var out []string
	for _, p := range gherkin.Pickles(*doc, path, ids.NewId) {
		for _, st := range p.Steps {
			matches := matcher.match(st.Text)
			line := int64(0)
			if len(st.AstNodeIds) > 0 {
				line = lines[st.AstNodeIds[0]]
			}
			key := fmt.Sprintf("%s:%d", path, line)
			// A user's step that a built-in one (or another of theirs)
			// also matches would run whichever godog tried first.
			if len(matches) > 1 && slices.ContainsFunc(matches, func(d StepDef) bool { return d.user }) && !seen[key] {
				seen[key] = true
				var pats []string
				for _, d := range matches {
					pats = append(pats, d.Pattern)
				}
				out = append(out, fmt.Sprintf("%s: step %q is ambiguous: it matches %s", key, st.Text, strings.Join(pats, " and ")))
				continue
			}
			if len(matches) > 0 {
				continue
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, fmt.Sprintf("%s: unknown step %q; closest known:\n%s", key, st.Text, closest(st.Text, 3)))
		}
	}
	return out, nil
}

// closest ranks the catalogue by word-level edit distance between the text
// and each definition's example.
func closest(text string, n int) string {
	type scored struct {
		d   int
		def StepDef
	}
	var all []scored
	words := strings.Fields(text)
	for _, d := range Catalogue() {
		ex := d.Example
		for _, kw := range []string{"Given ", "When ", "Then ", "And ", "But "} {
			ex = strings.TrimPrefix(ex, kw)
		}
		all = append(all, scored{editDistance(words, strings.Fields(ex)), d})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].d < all[j].d })
	var b strings.Builder
	for i := 0; i < n && i < len(all); i++ {
		fmt.Fprintf(&b, "    %s\n      e.g. %s\n", all[i].def.Pattern, all[i].def.Example)
	}
	return strings.TrimRight(b.String(), "\n")
}

func editDistance(a, b []string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
