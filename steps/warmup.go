package steps

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/fixtures"
)

// The two folder-image steps: their definitions (project_steps.go) use
// these patterns, and warm-up finds them in the run's scenarios.
var (
	folderImageStep         = regexp.MustCompile(`^the registry holds "([^"]*)" built from the folder "([^"]*)"$`)
	folderImageWithFileStep = regexp.MustCompile(`^the registry holds "([^"]*)" built from the folder "([^"]*)" with its "([^"]*)" reading:$`)
)

// imagesToBuild lists, in the order the run meets them, the folder images
// the run's scenarios (selectedScenarios) will build, each folder located
// as the step will locate it (the feature file's directory, then
// projectDir). A folder not found is left for the step to report.
func imagesToBuild(scenarios []*messages.Pickle, projectDir string) []lane.WarmImage {
	var out []lane.WarmImage
	for _, p := range scenarios {
		for _, st := range p.Steps {
			var reference, folder string
			var replaced map[string][]byte
			if m := folderImageStep.FindStringSubmatch(st.Text); m != nil {
				reference, folder = m[1], m[2]
			} else if m := folderImageWithFileStep.FindStringSubmatch(st.Text); m != nil && st.Argument != nil && st.Argument.DocString != nil {
				reference, folder = m[1], m[2]
				replaced = map[string][]byte{m[3]: []byte(st.Argument.DocString.Content + "\n")}
			} else {
				continue
			}
			dir, err := fixtures.Locate(folder, filepath.Dir(p.Uri), projectDir)
			if err != nil {
				continue
			}
			out = append(out, lane.WarmImage{Dir: dir, Version: tagOf(reference), Replaced: replaced})
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
