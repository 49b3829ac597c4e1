package timescale

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeedIntervalsAt60x(t *testing.T) {
	s, err := New(60)
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, s.Convert("poll", 3*time.Minute))
	assert.Equal(t, 5, s.WholeSeconds("heal cap", 300*time.Second))
	assert.Equal(t, 1, s.WholeSeconds("heal base", 2*time.Second), "never 0: that disables the backoff")
	got, err := s.RewriteText("retry.backoff.duration", "5s")
	require.NoError(t, err)
	assert.Equal(t, "83ms", got)
	got, err = s.RewriteText("retry.backoff.maxDuration", "3m")
	require.NoError(t, err)
	assert.Equal(t, "3s", got)
	got, err = s.RewriteText("bare seconds", "5")
	require.NoError(t, err)
	assert.Equal(t, "83ms", got)
	rw := s.Rewrites()
	require.Len(t, rw, 6)
	assert.Equal(t, "bare seconds", rw[0].Where)
	assert.Equal(t, "heal base", rw[1].Where)
	assert.Contains(t, rw[1].Rounding, "rounded to 1s")
}

func TestScaleOneIsRealTime(t *testing.T) {
	s, err := New(1)
	require.NoError(t, err)
	assert.Equal(t, 3*time.Minute, s.Real(3*time.Minute))
	got, err := s.RewriteText("x", "3m")
	require.NoError(t, err)
	assert.Equal(t, "3m0s", got)
}

func TestBadInput(t *testing.T) {
	for _, f := range []float64{0, 0.5, -1} {
		_, err := New(f)
		assert.Error(t, err, f)
	}
	s, _ := New(10)
	for _, text := range []string{"", "soon", "-5s", "1e300", "NaN", "Inf"} {
		_, err := s.RewriteText("retry.backoff.duration", text)
		assert.Error(t, err, text)
		if err != nil {
			assert.Contains(t, err.Error(), "retry.backoff.duration")
		}
	}
}

func FuzzRewriteText(f *testing.F) {
	for _, seed := range []string{"5s", "3m", "5", "1h30m", "0.5", "", "-1s", "9999999999999h"} {
		f.Add(seed, 60.0)
	}
	f.Fuzz(func(t *testing.T, text string, factor float64) {
		s, err := New(factor)
		if err != nil {
			return
		}
		out, err := s.RewriteText("fuzz", text)
		if err != nil {
			return
		}
		d, err := time.ParseDuration(out)
		if err != nil {
			t.Fatalf("RewriteText(%q) = %q, which does not parse: %v", text, out, err)
		}
		in, _ := ParseSeed(text)
		if d < 0 || (in > 0 && d == 0) || d > in && in >= time.Millisecond {
			t.Fatalf("RewriteText(%q, x%v) = %s from %s", text, factor, d, in)
		}
	})
}
