package podwatch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckSurge(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	sel := map[string]string{"app": "a"}
	old := Pod{Name: "old", Image: "r/app:v1", Labels: sel, Created: at(0), Ready: at(10)}
	fresh := Pod{Name: "new", Image: "r/app:v2", Labels: sel, Created: at(100), Ready: at(200)}

	good := old
	good.Terminating, good.Gone = at(250), at(300)
	ro := RolloutTo([]Pod{good, fresh}, "r/app:v2", sel)
	require.Len(t, ro.Old, 1)
	require.NoError(t, ro.CheckSurge(1))

	early := old
	early.Terminating, early.Gone = at(150), at(160) // before the new pod was Ready
	err := RolloutTo([]Pod{early, fresh}, "r/app:v2", sel).CheckSurge(1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "only 0 new pods were Ready")

	err = RolloutTo([]Pod{old, fresh}, "r/app:v2", sel).CheckSurge(1)
	assert.ErrorContains(t, err, "never terminated")

	unready := fresh
	unready.Ready = time.Time{}
	err = RolloutTo([]Pod{good, unready}, "r/app:v2", sel).CheckSurge(1)
	assert.ErrorContains(t, err, "0 of the new pods became Ready")

	gone := Pod{Name: "gone", Image: "r/app:v0", Labels: sel, Created: at(0), Terminating: at(0), Leftover: true}
	require.NoError(t, RolloutTo([]Pod{gone, good, fresh}, "r/app:v2", sel).CheckSurge(1), "a leftover pod is not part of the rollout")

	other := Pod{Name: "other", Image: "r/other:v1", Labels: map[string]string{"app": "b"}, Created: at(0)}
	assert.Len(t, RolloutTo([]Pod{good, fresh, other}, "r/app:v2", sel).Old, 1, "pods of another selector are not part of the rollout")
}

func TestAliveAndPeak(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	pods := []Pod{
		{Name: "old-1", Created: at(0), Gone: at(5)},
		{Name: "old-2", Created: at(0), Gone: at(7)},
		{Name: "new-1", Created: at(4)},
		{Name: "new-2", Created: at(6)},
		{Name: "leftover", Created: at(0), Leftover: true},
	}
	require.Equal(t, 2, Alive(pods, at(1)))
	require.Equal(t, 3, Alive(pods, at(4)))
	require.Equal(t, 3, Peak(pods, at(1), at(10)), "at 4 s: old-1, old-2, new-1")
	require.Equal(t, 2, Peak(pods, at(1), at(3)))
	require.Equal(t, 2, Alive(pods, at(8)))
}

func TestForegroundDeletionNeedsTheFinalizerAndThePodsGoneFirst(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	pod := func(name string, gone int) Pod {
		p := Pod{Name: name, Labels: map[string]string{"pod-template-hash": "abc"}, Created: t0}
		if gone >= 0 {
			p.Gone = at(gone)
		}
		return p
	}
	fg := Deployment{Name: "worker", Deleting: at(100), Finalizers: []string{"foregroundDeletion"}, Gone: at(500)}
	pods := []Pod{pod("worker-abc-1", 300), pod("worker-abc-2", 400), pod("web-def-1", -1)}
	assert.NoError(t, ForegroundDeletion(fg, pods))

	background := fg
	background.Finalizers = nil
	assert.ErrorContains(t, ForegroundDeletion(background, pods), `without the "foregroundDeletion" finalizer`)

	late := []Pod{pod("worker-abc-1", 300), pod("worker-abc-2", 600)}
	assert.ErrorContains(t, ForegroundDeletion(fg, late), "pod worker-abc-2 was gone at")

	stays := []Pod{pod("worker-abc-1", -1)}
	assert.ErrorContains(t, ForegroundDeletion(fg, stays), "was gone never")

	assert.ErrorContains(t, ForegroundDeletion(fg, []Pod{pod("web-def-1", 1)}), "no pods recorded")
	assert.ErrorContains(t, ForegroundDeletion(Deployment{Name: "worker"}, pods), "was not seen deleted")
}

// A draining pod holds resources (Peak) but is not part of what a strategy
// keeps running (PeakRunning).
func TestPeakRunningLeavesTerminatingPodsAside(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	pod := func(name string, created, terminating, gone int) Pod {
		p := Pod{Name: name, Created: at(created)}
		if terminating >= 0 {
			p.Terminating, p.Gone = at(terminating), at(gone)
		}
		return p
	}
	// Two old pods; a surge of one at a time; each old one drains 500 ms.
	pods := []Pod{
		pod("old-1", 0, 200, 700), pod("old-2", 0, 400, 900),
		pod("new-1", 100, -1, -1), pod("new-2", 300, -1, -1),
	}
	assert.Equal(t, 3, PeakRunning(pods, at(50), at(1000)), "two steady plus a surge of one")
	assert.Equal(t, 4, Peak(pods, at(50), at(1000)), "the draining pod still counted")
	assert.Equal(t, 3, Running(pods, at(350)), "old-1 terminating: old-2 and the two new")
}
