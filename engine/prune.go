package engine

import (
	"fmt"
	"slices"
	"time"
)

// SyncResultAt is one object's result in a sync, as the controller logged it.
type SyncResultAt struct {
	Time   time.Time
	Status string // Synced, Pruned, SyncFailed, PruneSkipped
	Object string // "Deployment/worker"
}

// SyncResults reads the results the application controller logged for app.
func SyncResults(lines []LogLine, app string) []SyncResultAt {
	var out []SyncResultAt
	for _, l := range lines {
		status, _, ok := l.ResourceResult()
		if !ok || l.Application() != app {
			continue
		}
		out = append(out, SyncResultAt{Time: l.Time, Status: status, Object: l.Fields["kind"] + "/" + l.Fields["name"]})
	}
	return out
}

// PrunedLast checks that the objects pruned were exactly want, each after
// every object the sync applied (PruneLast=true puts the prunes in a last
// wave of their own). results are one sync's, in log order.
func PrunedLast(results []SyncResultAt, want []string) error {
	var pruned []string
	var lastApplied SyncResultAt
	for _, r := range results {
		if r.Status != "Pruned" && r.Time.After(lastApplied.Time) {
			lastApplied = r
		}
	}
	for _, r := range results {
		if r.Status != "Pruned" {
			continue
		}
		// A Deployment deleted in the foreground stays until its pods
		// are gone, and the sync may prune it again meanwhile.
		if !slices.Contains(pruned, r.Object) {
			pruned = append(pruned, r.Object)
		}
		if !lastApplied.Time.IsZero() && !r.Time.After(lastApplied.Time) {
			return fmt.Errorf("%s was pruned at %s, before %s was %s at %s: not pruned last",
				r.Object, r.Time.Format("15:04:05.000000"), lastApplied.Object, lastApplied.Status, lastApplied.Time.Format("15:04:05.000000"))
		}
	}
	if lastApplied.Time.IsZero() {
		return fmt.Errorf("the sync applied nothing besides its prunes (%v), so their order says nothing", pruned)
	}
	slices.Sort(pruned)
	w := slices.Sorted(slices.Values(want))
	if !slices.Equal(pruned, w) {
		return fmt.Errorf("the sync pruned %v, want %v", pruned, w)
	}
	return nil
}

// AppliedInOrder checks that the objects were applied (Synced) one after
// another in this order: each one's first result comes after the previous
// one's. Sync waves order a sync so; Argo CD's own order of kinds within a
// wave (a ConfigMap before a Deployment) would not put a Deployment first.
func AppliedInOrder(results []SyncResultAt, want []string) error {
	first := map[string]SyncResultAt{}
	for _, r := range results {
		if _, seen := first[r.Object]; !seen && r.Status == "Synced" {
			first[r.Object] = r
		}
	}
	var prev SyncResultAt
	for i, o := range want {
		r, ok := first[o]
		if !ok {
			return fmt.Errorf("the controller logged no Synced result for %s (it logged %d results)", o, len(results))
		}
		if i > 0 && !r.Time.After(prev.Time) {
			return fmt.Errorf("%s was applied at %s, not after %s (%s)", o, r.Time.Format("15:04:05.000000"), prev.Object, prev.Time.Format("15:04:05.000000"))
		}
		prev = r
	}
	return nil
}
