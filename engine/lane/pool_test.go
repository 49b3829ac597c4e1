package lane

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse/reports"
)

func TestLanesShareTheHostsResourcesOnly(t *testing.T) {
	lanes, err := NewLanes(Options{}, 3)
	require.NoError(t, err)
	require.Len(t, lanes, 3)
	for i, l := range lanes {
		assert.Same(t, lanes[0].addresses, l.addresses, "pod addresses are loopback addresses of one host")
		assert.Same(t, lanes[0].images, l.images)
		assert.Equal(t, []string{"lane 1", "lane 2", "lane 3"}[i], l.name)
		if i > 0 {
			assert.NotSame(t, lanes[0].mirrors, l.mirrors, "each lane's nodes pull from its own registry")
		}
	}
	one, err := NewLanes(Options{}, 1)
	require.NoError(t, err)
	assert.Empty(t, one[0].name, "a single lane is not named in the report")

	_, err = NewLanes(Options{}, MaxParallel+1)
	assert.ErrorContains(t, err, "at most")

	n := DefaultParallel()
	assert.True(t, n >= 1 && n <= MaxParallel, "%d", n)
}

func TestLaneStatsKeepEachLaneApart(t *testing.T) {
	lanes, err := NewLanes(Options{}, 2)
	require.NoError(t, err)
	lanes[0].timings["cluster"] = 4 * time.Second
	lanes[0].timings["engine"] = 3 * time.Second
	lanes[0].timings["cluster prod"] = 2500 * time.Millisecond
	lanes[0].timings["destination clusters released"] = time.Second
	lanes[1].timings["cluster"] = 5 * time.Second
	lanes[0].peakRSS, lanes[1].peakRSS = 100<<20, 200<<20
	lanes[0].peakBy, lanes[1].peakBy = map[string]uint64{"kube-apiserver": 60 << 20}, map[string]uint64{"kube-apiserver": 70 << 20}
	stats, peak, _ := RunStats(lanes)
	assert.Equal(t, uint64(300<<20), peak)
	require.Len(t, stats, 2)
	assert.Equal(t, reports.LaneStats{Lane: "lane 1", ClusterSeconds: 4, ArgoCDSeconds: 3,
		DestinationClusterSeconds: map[string]float64{"prod": 2.5},
		PeakRSSMB:                 100, PeakRSSMBBy: map[string]float64{"kube-apiserver": 60}}, stats[0])
	assert.Equal(t, reports.LaneStats{Lane: "lane 2", ClusterSeconds: 5, PeakRSSMB: 200,
		PeakRSSMBBy: map[string]float64{"kube-apiserver": 70}}, stats[1])
}

func TestPoolLendsEachLaneToOneScenarioAtATime(t *testing.T) {
	p, err := NewPool(Options{TimeScale: 60}, 2)
	require.NoError(t, err)
	// Taking starts a lane in the background; a closed lane refuses to
	// start, so nothing comes up in this test.
	for _, l := range p.Lanes() {
		require.NoError(t, l.Close(t.Context()))
	}
	a, err := p.Take(t.Context())
	require.NoError(t, err)
	b, err := p.Take(t.Context())
	require.NoError(t, err)
	assert.NotSame(t, a, b)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = p.Take(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "both lanes are taken: the third scenario waits")

	p.Give(a)
	c, err := p.Take(t.Context())
	require.NoError(t, err)
	assert.Same(t, a, c)

	td := p.Close([]Secret{{Name: "Git password of developer", Value: "developer-0123456789"}})
	assert.Equal(t, []Secret{{Name: "Git password of developer", Value: "developer-0123456789"}}, td.Secrets,
		"lanes that never started have no credentials of their own")
	assert.Empty(t, td.Leaks)
}
