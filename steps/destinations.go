package steps

import (
	"regexp"
	"sync"

	messages "github.com/cucumber/messages/go/v34"
)

// registerClustersStep creates flow 8's destination clusters. Its
// definition (promotion_steps.go) uses this pattern, and the run counts the
// scenarios that use it to know when the clusters are no longer needed.
var registerClustersStep = regexp.MustCompile(`^the clusters "([^"]*)", "([^"]*)" and "([^"]*)" are registered with Argo CD$`)

// clusterDemand counts the run's scenarios that register destination
// clusters and have not finished yet. Each lane keeps the clusters it
// created for the next such scenario, since creating three costs about
// 30 s; once none is left, keeping them only costs: a full run spent about
// 3.5 of its 20.5 CPU minutes on flow 8's six idle-or-starting clusters
// (kube-apiserver, etcd and kube-controller-manager each, and Argo CD
// watching them), for 5 of its 55 scenarios (2026-12-02, process
// accounting).
type clusterDemand struct {
	mu      sync.Mutex
	counted bool // the run knew its scenarios beforehand
	left    int
}

func newClusterDemand(scenarios []*messages.Pickle) *clusterDemand {
	d := &clusterDemand{counted: len(scenarios) > 0}
	for _, p := range scenarios {
		if registersClusters(p) {
			d.left++
		}
	}
	return d
}

func registersClusters(p *messages.Pickle) bool {
	for _, st := range p.Steps {
		if registerClustersStep.MatchString(st.Text) {
			return true
		}
	}
	return false
}

// finished records the end of scenario p and reports whether no scenario
// that registers destination clusters is left to run. A run that could not
// count its scenarios (one scenario by file and line) never reports so:
// its lanes keep their clusters to the end.
func (d *clusterDemand) finished(p *messages.Pickle) (noneLeft bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.counted {
		return false
	}
	if registersClusters(p) && d.left > 0 {
		d.left--
	}
	return d.left == 0
}
