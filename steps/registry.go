package steps

import (
	"regexp"
	"sort"

	"github.com/cucumber/godog"
)

// StepDef is one step pattern with the documentation shown by
// `rehearse steps` and docs/steps.md, both generated from this list.
type StepDef struct {
	Pattern string // regular expression godog matches
	Doc     string // what the step does and asserts
	Example string // a line as written in a feature file
	Fn      any    // bound to a World
	user    bool   // a UserStep's (for the ambiguity check)
}

// Catalogue lists every step, sorted by pattern, for documentation.
func Catalogue() []StepDef {
	defs := (&World{}).definitions()
	sort.Slice(defs, func(i, j int) bool { return defs[i].Pattern < defs[j].Pattern })
	return defs
}

func (w *World) register(sc *godog.ScenarioContext) {
	for _, d := range w.definitions() {
		sc.Step(d.Pattern, d.Fn)
	}
}

// stepMatcher is the catalogue with its patterns compiled once: checking
// a suite's few hundred steps against it compiled every pattern for every
// step before, 4.4 s of CPU at the start of each run (BenchmarkCheckSteps).
type stepMatcher struct {
	defs     []StepDef
	patterns []*regexp.Regexp
}

func newStepMatcher() *stepMatcher {
	m := &stepMatcher{defs: Catalogue()}
	for _, d := range m.defs {
		m.patterns = append(m.patterns, regexp.MustCompile(d.Pattern))
	}
	return m
}

// match returns the definitions whose pattern matches text: none for an
// unknown step, more than one for an ambiguous one.
func (m *stepMatcher) match(text string) []StepDef {
	var out []StepDef
	for i, re := range m.patterns {
		if re.MatchString(text) {
			out = append(out, m.defs[i])
		}
	}
	return out
}

func (w *World) definitions() []StepDef {
	var defs []StepDef
	defs = append(defs, w.gitSteps()...)
	defs = append(defs, w.projectSteps()...)
	defs = append(defs, w.applicationSteps()...)
	defs = append(defs, w.clusterSteps()...)
	defs = append(defs, w.syncSteps()...)
	defs = append(defs, w.rollbackSteps()...)
	defs = append(defs, w.retrySteps()...)
	defs = append(defs, w.notifySteps()...)
	defs = append(defs, w.pipelineSteps()...)
	defs = append(defs, w.promotionSteps()...)
	defs = append(defs, w.faultSteps()...)
	defs = append(defs, w.rolloutSteps()...)
	defs = append(defs, w.strategySteps()...)
	defs = append(defs, w.gatewaySteps()...)
	return defs
}
