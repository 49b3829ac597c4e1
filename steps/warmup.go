package steps

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/rehearse/rehearse/engine/lane"
)

// The two prebuilt-image steps: their definitions (pipeline_steps.go) use
// these patterns, and warm-up finds them in the run's scenarios.
var (
	prebuiltStep          = regexp.MustCompile(`^the registry holds "([^"]*)" built from the "([^"]*)" fixture$`)
	prebuiltBehaviourStep = regexp.MustCompile(`^the registry holds "([^"]*)" built from the "([^"]*)" fixture with behaviour:$`)
)

// imagesToBuild lists, in the order the run meets them, the distinct
// fixture images the run's scenarios (selectedScenarios) will build.
func imagesToBuild(scenarios []*messages.Pickle) []lane.FixtureImage {
	var out []lane.FixtureImage
	seen := map[lane.FixtureImage]bool{}
	for _, p := range scenarios {
		for _, st := range p.Steps {
			var r lane.FixtureImage
			if m := prebuiltStep.FindStringSubmatch(st.Text); m != nil {
				r = lane.FixtureImage{Fixture: m[2], Version: tagOf(m[1])}
			} else if m := prebuiltBehaviourStep.FindStringSubmatch(st.Text); m != nil && st.Argument != nil && st.Argument.DocString != nil {
				r = lane.FixtureImage{Fixture: m[2], Version: tagOf(m[1]), Behaviour: st.Argument.DocString.Content}
			} else {
				continue
			}
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// selectedScenarios reads, in file order, the scenarios the run will play
// (paths and the godog tag filter select them), so the run can prepare for
// them before they start. A file it cannot read or parse is skipped:
// CheckSteps has already refused malformed files. A path naming one
// scenario (file.feature:LINE) contributes nothing: a run of one scenario
// has nothing to prepare ahead of it.
func selectedScenarios(paths []string, tagFilter string) []*messages.Pickle {
	var out []*messages.Pickle
	for _, root := range paths {
		if _, oneScenario := featureFile(root); oneScenario {
			continue
		}
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".feature") {
				return nil
			}
			out = append(out, scenariosIn(path, tagFilter)...)
			return nil
		})
	}
	return out
}

func scenariosIn(path, tagFilter string) []*messages.Pickle {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	ids := &messages.Incrementing{}
	doc, err := gherkin.ParseGherkinDocument(f, ids.NewId)
	if err != nil || doc.Feature == nil {
		return nil
	}
	var out []*messages.Pickle
	for _, p := range gherkin.Pickles(*doc, path, ids.NewId) {
		var tags []string
		for _, t := range p.Tags {
			tags = append(tags, t.Name)
		}
		if matchesTagFilter(tagFilter, tags) {
			out = append(out, p)
		}
	}
	return out
}

// tagOf is the tag of an image reference (project/repo:tag).
func tagOf(reference string) string {
	return reference[strings.LastIndex(reference, ":")+1:]
}

// matchesTagFilter evaluates godog's filter syntax (what godogTags
// produces: an OR, by commas, of ANDs, by &&, of tags, ~ negating one).
func matchesTagFilter(filter string, tags []string) bool {
	if filter == "" {
		return true
	}
	has := map[string]bool{}
	for _, t := range tags {
		has[t] = true
	}
	for _, alt := range strings.Split(filter, ",") {
		all := true
		for _, term := range strings.Split(alt, "&&") {
			term = strings.TrimSpace(term)
			if neg, ok := strings.CutPrefix(term, "~"); ok {
				all = all && !has[neg]
			} else {
				all = all && has[term]
			}
		}
		if all {
			return true
		}
	}
	return false
}
