package reports

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// SeedStrategy is one row of the seed's "Deployment strategies compared"
// table, in the seed's words.
type SeedStrategy struct {
	Strategy      string `json:"strategy"`
	Downtime      string `json:"downtime"`
	ResourceUse   string `json:"resource_use"`
	RollbackSpeed string `json:"rollback_speed"`
	Risk          string `json:"risk"`
	UseCase       string `json:"use_case"`
}

// StrategyRow is one strategy measured under constant traffic: a release
// rolled out, then rolled back, while the users' requests are recorded.
type StrategyRow struct {
	Strategy string `json:"strategy"`
	// Requests sent during the rollout, the failed ones, and the longest
	// time without a successful answer.
	Requests          int     `json:"requests"`
	Failed            int     `json:"failed_requests"`
	LongestGapSeconds float64 `json:"longest_gap_seconds"`
	// RequestsPerSecond is the users' rate, which sets how long a gap is
	// downtime (see Downtime).
	RequestsPerSecond float64 `json:"requests_per_second,omitempty"`
	// SteadyPods ran before the release; PeakPods is the most that existed
	// at once during it (terminating ones included: they hold resources).
	SteadyPods int `json:"steady_pods"`
	PeakPods   int `json:"peak_pods"`
	// PeakRunningPods is the most running or starting at once, terminating
	// ones aside: the surge the strategy keeps by design.
	PeakRunningPods int `json:"peak_running_pods"`
	// RolloutSeconds: from the release's push until every request reaches
	// the new version. RollbackSeconds: the same for the revert.
	RolloutSeconds  float64 `json:"rollout_seconds"`
	RollbackSeconds float64 `json:"rollback_seconds"`
	// Seed is the seed's row for this strategy; Order its place in the
	// seed's table (1-based).
	Seed  *SeedStrategy `json:"seed,omitempty"`
	Order int           `json:"seed_order,omitempty"`
}

// PeakRatio is PeakPods over SteadyPods.
func (r StrategyRow) PeakRatio() float64 {
	if r.SteadyPods == 0 {
		return 0
	}
	return float64(r.PeakPods) / float64(r.SteadyPods)
}

// RunningRatio is PeakRunningPods over SteadyPods.
func (r StrategyRow) RunningRatio() float64 {
	if r.SteadyPods == 0 {
		return 0
	}
	return float64(r.PeakRunningPods) / float64(r.SteadyPods)
}

// SeedStrategyNamed is the seed document's row for a strategy (any case)
// and its place in the table (from 1); nil and 0 if the table has none.
func SeedStrategyNamed(markdown []byte, strategy string) (*SeedStrategy, int) {
	for i, seed := range ParseSeedStrategies(markdown) {
		if strings.EqualFold(seed.Strategy, strategy) {
			return &seed, i + 1
		}
	}
	return nil, 0
}

// ParseSeedStrategies reads the seed document's markdown table whose header
// starts with "| Strategy |".
func ParseSeedStrategies(markdown []byte) []SeedStrategy {
	var out []SeedStrategy
	in := false
	sc := bufio.NewScanner(bytes.NewReader(markdown))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			if in {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if !in {
			in = len(cells) > 0 && strings.EqualFold(cells[0], "Strategy")
			continue
		}
		if len(cells) < 6 || strings.Trim(cells[0], "-: ") == "" {
			continue // the separator row
		}
		out = append(out, SeedStrategy{Strategy: cells[0], Downtime: cells[1], ResourceUse: cells[2],
			RollbackSpeed: cells[3], Risk: cells[4], UseCase: cells[5]})
	}
	return out
}

// downtimeIntervals: a stretch with no successful answer as long as this
// many of the users' request intervals is downtime (200 ms at 50/s), even
// if no request failed: the users were left without an answer.
const downtimeIntervals = 10

// Downtime says whether the users saw downtime during the rollout: a
// failed request, or a gap without a successful answer of at least
// downtimeIntervals request intervals (and at least 100 ms). The reason
// says which.
func (r StrategyRow) Downtime() (bool, string) {
	limit := 0.1
	if r.RequestsPerSecond > 0 {
		limit = max(limit, downtimeIntervals/r.RequestsPerSecond)
	}
	switch {
	case r.Failed > 0:
		return true, fmt.Sprintf("%d of %d requests failed (longest gap %.3fs)", r.Failed, r.Requests, r.LongestGapSeconds)
	case r.LongestGapSeconds >= limit:
		return true, fmt.Sprintf("no request failed, but none was answered for %.3fs (downtime from %.3fs: %d request intervals)", r.LongestGapSeconds, limit, downtimeIntervals)
	}
	return false, fmt.Sprintf("no request failed and the longest gap was %.3fs (downtime from %.3fs)", r.LongestGapSeconds, limit)
}

// rollbackRank orders the seed's rollback-speed words, fastest first.
var rollbackRank = map[string]int{"fast": 1, "medium": 2, "slow": 3}

// RollbackOrder compares the measured rollbacks with the seed's words:
// for every two strategies the seed ranks apart ("fast" before "medium"
// before "slow"), the one it calls faster must not have taken longer. It
// returns one line per pair that disagrees (none: the measurements keep
// the seed's order), naming both times, so the report says where the
// seed's table does not hold here rather than leaving the reader to
// compare.
func RollbackOrder(rows []StrategyRow) []string {
	var out []string
	for _, a := range rows {
		for _, b := range rows {
			if a.Seed == nil || b.Seed == nil || a.RollbackSeconds == 0 || b.RollbackSeconds == 0 {
				continue
			}
			ra, rb := rollbackRank[strings.ToLower(a.Seed.RollbackSpeed)], rollbackRank[strings.ToLower(b.Seed.RollbackSpeed)]
			if ra == 0 || rb == 0 || ra >= rb {
				continue
			}
			if a.RollbackSeconds > b.RollbackSeconds {
				out = append(out, fmt.Sprintf("the seed rolls %s back faster (%s) than %s (%s), but here it took %.2f s against %.2f s",
					a.Strategy, a.Seed.RollbackSpeed, b.Strategy, b.Seed.RollbackSpeed, a.RollbackSeconds, b.RollbackSeconds))
			}
		}
	}
	return out
}
