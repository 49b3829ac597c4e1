package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrunedLastReadsTheControllersResults(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	line := func(ms int, app, kind, name, msg string) LogLine {
		return LogLine{Time: t0.Add(time.Duration(ms) * time.Millisecond), Message: msg,
			Fields: map[string]string{"application": "argocd/" + app, "kind": kind, "name": name}}
	}
	lines := []LogLine{
		line(0, "prune-demo", "Service", "web", "Adding resource result, status: 'Synced', phase: 'Running', message: 'service/web configured'"),
		line(5, "other", "Deployment", "x", "Adding resource result, status: 'Pruned', phase: 'Succeeded', message: 'pruned'"),
		line(10, "prune-demo", "Deployment", "web", "Adding resource result, status: 'Synced', phase: 'Running', message: 'deployment.apps/web unchanged'"),
		line(20, "prune-demo", "Deployment", "web", "Updating resource result, status: 'Synced' -> 'Synced', phase 'Running' -> 'Succeeded'"),
		line(300, "prune-demo", "Deployment", "worker", "Adding resource result, status: 'Pruned', phase: 'Succeeded', message: 'pruned'"),
		line(301, "prune-demo", "ConfigMap", "worker-config", "Adding resource result, status: 'Pruned', phase: 'Succeeded', message: 'pruned'"),
	}
	// Pruned again while its foreground deletion waits for its pods.
	lines = append(lines, line(350, "prune-demo", "Deployment", "worker", "Adding resource result, status: 'Pruned', phase: 'Succeeded', message: 'pruned'"))
	results := SyncResults(lines, "prune-demo")
	require.Len(t, results, 5, "another app's and the updates are left out")
	assert.NoError(t, PrunedLast(results, []string{"ConfigMap/worker-config", "Deployment/worker"}))
	assert.ErrorContains(t, PrunedLast(results, []string{"Deployment/worker"}), "the sync pruned [ConfigMap/worker-config Deployment/worker], want [Deployment/worker]")

	// Without PruneLast a prune may come before an apply of the same sync.
	early := SyncResults([]LogLine{
		line(0, "prune-demo", "Deployment", "worker", "Adding resource result, status: 'Pruned', phase: 'Succeeded', message: 'pruned'"),
		line(10, "prune-demo", "Service", "web", "Adding resource result, status: 'Synced', phase: 'Running', message: 'service/web configured'"),
	}, "prune-demo")
	assert.ErrorContains(t, PrunedLast(early, []string{"Deployment/worker"}), "Deployment/worker was pruned at 15:00:00.000000, before Service/web was Synced")

	onlyPrunes := SyncResults(lines[4:6], "prune-demo")
	assert.ErrorContains(t, PrunedLast(onlyPrunes, []string{"ConfigMap/worker-config", "Deployment/worker"}), "applied nothing besides its prunes")
}

func TestAppliedInOrderFollowsEachObjectsFirstSync(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int, status, obj string) SyncResultAt {
		return SyncResultAt{Time: t0.Add(time.Duration(ms) * time.Millisecond), Status: status, Object: obj}
	}
	waves := []SyncResultAt{at(0, "Synced", "Deployment/backend"), at(2100, "Synced", "ConfigMap/frontend-config"), at(2150, "Synced", "Deployment/frontend"),
		at(9000, "Synced", "Deployment/backend")}
	want := []string{"Deployment/backend", "ConfigMap/frontend-config", "Deployment/frontend"}
	assert.NoError(t, AppliedInOrder(waves, want), "a later sync of an object does not count")
	kindOrder := []SyncResultAt{at(0, "Synced", "ConfigMap/frontend-config"), at(10, "Synced", "Deployment/backend"), at(20, "Synced", "Deployment/frontend")}
	assert.ErrorContains(t, AppliedInOrder(kindOrder, want), "ConfigMap/frontend-config was applied at", "one wave: kinds in Argo CD's order")
	same := []SyncResultAt{at(0, "Synced", "Deployment/backend"), at(0, "Synced", "ConfigMap/frontend-config"), at(5, "Synced", "Deployment/frontend")}
	assert.Error(t, AppliedInOrder(same, want), "at the same instant is not after")
	assert.ErrorContains(t, AppliedInOrder(waves[:1], want), "no Synced result for ConfigMap/frontend-config")
	failed := []SyncResultAt{at(0, "SyncFailed", "Deployment/backend")}
	assert.ErrorContains(t, AppliedInOrder(failed, want[:1]), "no Synced result for Deployment/backend")
}
