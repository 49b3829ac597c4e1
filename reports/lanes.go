package reports

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// LaneStats is what one lane's stack cost: how long its parts took to
// start and the most memory its processes held at once.
type LaneStats struct {
	// Lane names it ("lane 1"); a run of one lane calls it "lane 1" too.
	Lane string `json:"lane"`
	// Start-up, in seconds, from the request to ready; 0 where the lane
	// never started that part (Argo Rollouts starts with the first
	// scenario that needs it).
	ClusterSeconds  float64 `json:"cluster_seconds"`
	ArgoCDSeconds   float64 `json:"argocd_seconds"`
	RolloutsSeconds float64 `json:"rollouts_seconds,omitempty"`
	// DestinationClusterSeconds: each further cluster, created and
	// registered with Argo CD.
	DestinationClusterSeconds map[string]float64 `json:"destination_cluster_seconds,omitempty"`
	// PeakRSSMB is the lane's highest resident memory, all its processes
	// together, and PeakRSSMBBy the split by component at that moment.
	PeakRSSMB   float64            `json:"peak_rss_mb"`
	PeakRSSMBBy map[string]float64 `json:"peak_rss_mb_by_component,omitempty"`
}

// seconds prints a start-up time, or "-" for a part never started.
func seconds(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f s", v)
}

// used drops the lanes that never started a stack (a run of one scenario
// on two lanes uses one).
func used(lanes []LaneStats) []LaneStats {
	return slices.DeleteFunc(slices.Clone(lanes), func(l LaneStats) bool { return l.ClusterSeconds == 0 && l.PeakRSSMB == 0 })
}

// StartupRows are the start-up table: a header, then a row per lane that
// started a stack; none when no lane did (the run ended first).
func StartupRows(lanes []LaneStats) [][]string {
	if lanes = used(lanes); len(lanes) == 0 {
		return nil
	}
	rows := [][]string{{"start-up", "cluster", "Argo CD", "Argo Rollouts", "destination clusters"}}
	for _, l := range lanes {
		var dest []string
		for _, name := range slices.Sorted(maps.Keys(l.DestinationClusterSeconds)) {
			dest = append(dest, name+" "+seconds(l.DestinationClusterSeconds[name]))
		}
		rows = append(rows, []string{l.Lane, seconds(l.ClusterSeconds), seconds(l.ArgoCDSeconds), seconds(l.RolloutsSeconds), orDash(strings.Join(dest, ", "))})
	}
	return rows
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// MemoryRows are the peak-memory table in MB: a header (component, each
// lane, and the sum when there are several), a row per component, largest
// first, and the lanes' totals last. The sum adds each lane's own peak:
// lanes need not peak at the same moment, so it bounds the run's peak from
// above. Lanes with no memory sampled are left out; none when no lane has
// any.
func MemoryRows(lanes []LaneStats) [][]string {
	// A lane torn down before the sampler's first tick has no figure.
	if lanes = slices.DeleteFunc(used(lanes), func(l LaneStats) bool { return l.PeakRSSMB == 0 }); len(lanes) == 0 {
		return nil
	}
	header := []string{"peak memory, MB"}
	for _, l := range lanes {
		header = append(header, l.Lane)
	}
	several := len(lanes) > 1
	if several {
		header = append(header, "sum of the lanes' peaks")
	}
	sums := map[string]float64{}
	for _, l := range lanes {
		for c, v := range l.PeakRSSMBBy {
			sums[c] += v
		}
	}
	components := slices.SortedFunc(maps.Keys(sums), func(a, b string) int {
		if sums[a] != sums[b] {
			if sums[a] > sums[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	rows := [][]string{header}
	row := func(name string, value func(LaneStats) float64) {
		r := []string{name}
		var sum float64
		for _, l := range lanes {
			r = append(r, fmt.Sprintf("%.0f", value(l)))
			sum += value(l)
		}
		if several {
			r = append(r, fmt.Sprintf("%.0f", sum))
		}
		rows = append(rows, r)
	}
	for _, c := range components {
		row(c, func(l LaneStats) float64 { return l.PeakRSSMBBy[c] })
	}
	row("all components", func(l LaneStats) float64 { return l.PeakRSSMB })
	return rows
}

// WriteTable prints rows as aligned columns.
func WriteTable(w io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		if _, err := fmt.Fprintln(tw, strings.Join(r, "\t")); err != nil {
			return err
		}
	}
	return tw.Flush()
}
