package sequence

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"
)

// Claim is a feature file's statement that one of its Then steps checks,
// against the real system, the effect of some of the seed's numbered steps.
// It is a comment on the lines right above the step:
//
//	# asserts seed steps 13-15: two pods terminated, replicas back to 3
//	Then within 10s the deployment "keycloak" in "q-sign" is back to 3 replicas
//
// The claim is the reviewer's to check (does the step's check really show
// that step's effect?); the run holds it only when the scenario passed, so
// the Then step's check held.
type Claim struct {
	Flow   int      `json:"flow"`
	Labels []string `json:"labels"`
	// Step is where the Then step is, as "path:line".
	Step string `json:"step"`
	Text string `json:"text"`
}

// claimComment is "# asserts seed step 16" or "# asserts seed steps 2, 5,
// 10a-15a", optionally followed by ": why".
var (
	claimComment = regexp.MustCompile(`^\s*#\s*asserts\s+seed\s+steps?\b(.*)$`)
	claimList    = regexp.MustCompile(`^\s*([0-9a-z]+(?:\s*-\s*[0-9a-z]+)?(?:\s*,\s*[0-9a-z]+(?:\s*-\s*[0-9a-z]+)?)*)\s*(?::.*)?$`)
	claimItem    = regexp.MustCompile(`^\d+[a-z]?$`)
)

// ClaimError names every malformed or misplaced claim of a feature file,
// one "path:line: problem" per line, so none is silently ignored.
type ClaimError struct{ Problems []string }

func (e *ClaimError) Error() string {
	return "seed-step claims:\n  " + strings.Join(e.Problems, "\n  ")
}

// FeatureClaims are one feature file's claims, found by scenario.
type FeatureClaims struct {
	// byPickle: a scenario's name and step texts (which identify it in the
	// file, examples of an outline included) -> the claims on its steps.
	byPickle map[string][]Claim
}

// For returns the claims on the steps of the scenario with this name and
// these step texts (background steps first, as a run lists them).
func (fc *FeatureClaims) For(name string, stepTexts []string) []Claim {
	if fc == nil {
		return nil
	}
	return fc.byPickle[pickleKey(name, stepTexts)]
}

func pickleKey(name string, texts []string) string {
	return name + "\x00" + strings.Join(texts, "\x00")
}

// ParseClaims reads the claims of the feature file at path (src is its
// content). flow gives the seed flow a scenario's @flow-N tag names. A
// claim must sit right above a Then step (or an And/But after one) of a
// scenario of a seed flow, and name steps that flow has; anything else is
// a ClaimError naming the file and line.
func ParseClaims(path string, src []byte, flow func(tags []string) (Flow, bool)) (*FeatureClaims, error) {
	ids := &messages.Incrementing{}
	doc, err := gherkin.ParseGherkinDocument(bytes.NewReader(src), ids.NewId)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fc := &FeatureClaims{byPickle: map[string][]Claim{}}
	if doc.Feature == nil {
		return fc, nil
	}
	var problems []string
	// Lines where a claim could attach: steps, and the headers that end a
	// block of steps (a claim right above a header belongs to nothing).
	stepAt := map[int64]*messages.Step{}
	var anchors []int64
	addSteps := func(steps []*messages.Step) {
		for _, s := range steps {
			stepAt[s.Location.Line] = s
			anchors = append(anchors, s.Location.Line)
		}
	}
	anchors = append(anchors, doc.Feature.Location.Line)
	var walk func(children []*messages.FeatureChild)
	walk = func(children []*messages.FeatureChild) {
		for _, c := range children {
			switch {
			case c.Background != nil:
				anchors = append(anchors, c.Background.Location.Line)
				addSteps(c.Background.Steps)
			case c.Scenario != nil:
				anchors = append(anchors, c.Scenario.Location.Line)
				addSteps(c.Scenario.Steps)
				for _, ex := range c.Scenario.Examples {
					anchors = append(anchors, ex.Location.Line)
				}
			case c.Rule != nil:
				anchors = append(anchors, c.Rule.Location.Line)
				var sub []*messages.FeatureChild
				for _, rc := range c.Rule.Children {
					sub = append(sub, &messages.FeatureChild{Background: rc.Background, Scenario: rc.Scenario})
				}
				walk(sub)
			}
		}
	}
	walk(doc.Feature.Children)
	slices.Sort(anchors)
	// Each claim comment -> the step line it is on.
	type rawClaim struct {
		line   int64
		labels []string // as written, ranges unexpanded ("10a-15a")
	}
	claimsOn := map[int64][]rawClaim{}
	for _, c := range doc.Comments {
		m := claimComment.FindStringSubmatch(c.Text)
		if m == nil {
			continue
		}
		line := c.Location.Line
		where := fmt.Sprintf("%s:%d", path, line)
		lm := claimList.FindStringSubmatch(m[1])
		if lm == nil {
			problems = append(problems, fmt.Sprintf("%s: %q: write the seed steps as numbers or ranges, as in \"# asserts seed steps 2, 13-15: why\"", where, strings.TrimSpace(c.Text)))
			continue
		}
		i := sort.Search(len(anchors), func(i int) bool { return anchors[i] > line })
		if i == len(anchors) || stepAt[anchors[i]] == nil {
			problems = append(problems, fmt.Sprintf("%s: a seed-step claim must be right above the Then step that checks it", where))
			continue
		}
		var labels []string
		for _, item := range strings.Split(lm[1], ",") {
			labels = append(labels, strings.ReplaceAll(strings.TrimSpace(item), " ", ""))
		}
		claimsOn[anchors[i]] = append(claimsOn[anchors[i]], rawClaim{line: line, labels: labels})
	}
	// Lines of the AST's steps by id, to place each scenario's steps.
	lineOf := map[string]int64{}
	for line, s := range stepAt {
		lineOf[s.Id] = line
	}
	reported := map[string]bool{}
	report := func(p string) {
		if !reported[p] {
			reported[p] = true
			problems = append(problems, p)
		}
	}
	for _, p := range gherkin.Pickles(*doc, path, ids.NewId) {
		var tags, texts []string
		for _, t := range p.Tags {
			tags = append(tags, t.Name)
		}
		for _, st := range p.Steps {
			texts = append(texts, st.Text)
		}
		f, hasFlow := flow(tags)
		var claims []Claim
		for _, st := range p.Steps {
			if len(st.AstNodeIds) == 0 {
				continue
			}
			line := lineOf[st.AstNodeIds[0]]
			for _, rc := range claimsOn[line] {
				where := fmt.Sprintf("%s:%d", path, rc.line)
				if st.Type != messages.PickleStepType_OUTCOME {
					report(fmt.Sprintf("%s: a seed-step claim is on a %s step (line %d); only a Then step checks an effect", where, strings.TrimSpace(stepAt[line].Keyword), line))
					continue
				}
				if !hasFlow {
					report(fmt.Sprintf("%s: scenario %q claims seed steps but has no @flow-N tag naming a flow of the seed document", where, p.Name))
					continue
				}
				labels, err := expand(f, rc.labels)
				if err != nil {
					report(fmt.Sprintf("%s: %v", where, err))
					continue
				}
				if i := slices.IndexFunc(labels, func(l string) bool { _, ok := Plays[f.Number].NotReproduced[l]; return ok }); i >= 0 {
					report(fmt.Sprintf("%s: flow %d's step %s is one Rehearse does not reproduce (%s), so no step can assert it", where, f.Number, labels[i], Plays[f.Number].NotReproduced[labels[i]]))
					continue
				}
				claims = append(claims, Claim{Flow: f.Number, Labels: labels, Step: fmt.Sprintf("%s:%d", path, line), Text: st.Text})
			}
		}
		key := pickleKey(p.Name, texts)
		if _, dup := fc.byPickle[key]; !dup {
			fc.byPickle[key] = claims
		}
	}
	if len(problems) > 0 {
		return nil, &ClaimError{Problems: problems}
	}
	return fc, nil
}

// expand turns "13-15" into the flow's steps from 13 to 15 in the seed's
// order (so "10a-15a" stays on its alt branch), and checks every label.
func expand(f Flow, items []string) ([]string, error) {
	if len(f.Steps) == 0 {
		return nil, fmt.Errorf("flow %d has no numbered steps", f.Number)
	}
	index := func(label string) (int, error) {
		if !claimItem.MatchString(label) {
			return 0, fmt.Errorf("%q is not a seed step number", label)
		}
		for i, s := range f.Steps {
			if s.Label == label {
				return i, nil
			}
		}
		return 0, fmt.Errorf("flow %d has no step %s (its steps are %s to %s)", f.Number, label, f.Steps[0].Label, f.Steps[len(f.Steps)-1].Label)
	}
	var out []string
	for _, item := range items {
		from, to, isRange := strings.Cut(item, "-")
		if !isRange {
			to = from
		}
		i, err := index(from)
		if err != nil {
			return nil, err
		}
		j, err := index(to)
		if err != nil {
			return nil, err
		}
		if j < i {
			return nil, fmt.Errorf("the range %s goes backwards", item)
		}
		for _, s := range f.Steps[i : j+1] {
			if !slices.Contains(out, s.Label) {
				out = append(out, s.Label)
			}
		}
	}
	return out, nil
}

// FlowOfTags reads the seed flow a scenario belongs to from its @flow-N
// tag (0 if none).
func FlowOfTags(tags []string) int {
	for _, t := range tags {
		if n, ok := strings.CutPrefix(t, "@flow-"); ok {
			if v, err := strconv.Atoi(n); err == nil {
				return v
			}
		}
	}
	return 0
}
