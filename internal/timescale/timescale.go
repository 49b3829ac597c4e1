// Package timescale compresses the seed's wall-clock intervals (poll every
// 3 minutes, retry after 5 s .. 3 min, heal backoff up to 300 s) so that a
// scenario written in the seed's words runs in seconds. A Scale of 60 makes
// "3 minutes" last 3 real seconds. Every conversion is recorded, so the
// report can show which durations were rewritten and to what.
package timescale

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Scale is how many times faster than real time a run goes. 1 is real time.
type Scale struct {
	factor float64
	mu     sync.Mutex
	log    map[string]Rewrite
}

// Rewrite is one recorded conversion.
type Rewrite struct {
	Where    string // what the duration configures, e.g. "argocd-cm timeout.reconciliation"
	Seed     string // as written
	Real     string // as configured or waited
	Rounding string // why Real is not exactly Seed/factor, if it is not
}

// New returns a scale; factor must be >= 1.
func New(factor float64) (*Scale, error) {
	if factor < 1 || math.IsInf(factor, 0) || math.IsNaN(factor) {
		return nil, fmt.Errorf("time scale must be a number >= 1, got %v", factor)
	}
	return &Scale{factor: factor, log: map[string]Rewrite{}}, nil
}

// Factor is the compression factor.
func (s *Scale) Factor() float64 { return s.factor }

// Real converts a seed duration to the real duration to wait or configure.
func (s *Scale) Real(seed time.Duration) time.Duration {
	return time.Duration(float64(seed) / s.factor)
}

// Record notes a conversion for the report.
func (s *Scale) Record(where string, seed, real time.Duration, rounding string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log[where+"\x00"+seed.String()] = Rewrite{Where: where, Seed: seed.String(), Real: real.String(), Rounding: rounding}
}

// Convert is Real plus Record.
func (s *Scale) Convert(where string, seed time.Duration) time.Duration {
	r := s.Real(seed)
	s.Record(where, seed, r, "")
	return r
}

// WholeSeconds converts a duration that a component only accepts in whole
// seconds (Argo CD's --app-resync, self-heal backoff flags). It never rounds
// a positive duration down to 0, which would mean "disabled" to them.
func (s *Scale) WholeSeconds(where string, seed time.Duration) int {
	r := s.Real(seed)
	secs := int(math.Round(r.Seconds()))
	rounding := ""
	if seed > 0 && secs < 1 {
		secs = 1
	}
	if time.Duration(secs)*time.Second != r {
		rounding = fmt.Sprintf("whole seconds only: %s rounded to %ds", r, secs)
	}
	s.Record(where, seed, time.Duration(secs)*time.Second, rounding)
	return secs
}

// Rewrites lists the recorded conversions, sorted by Where.
func (s *Scale) Rewrites() []Rewrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Rewrite, 0, len(s.log))
	for _, r := range s.log {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Where != out[j].Where {
			return out[i].Where < out[j].Where
		}
		return out[i].Seed < out[j].Seed
	})
	return out
}

// ParseSeed reads a duration as the seed and Argo manifests write it:
// Go syntax ("3m", "1h30m", "500ms") or a bare number of seconds ("5").
func ParseSeed(text string) (time.Duration, error) {
	t := strings.TrimSpace(text)
	if t == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if n, err := strconv.ParseFloat(t, 64); err == nil {
		if math.IsNaN(n) || n < 0 || n > float64(math.MaxInt64)/float64(time.Second) {
			return 0, fmt.Errorf("duration %q out of range", text)
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want Go syntax like 3m or 5s, or seconds", text)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", text)
	}
	return d, nil
}

// RewriteText converts a duration string found in a manifest and returns it
// in Go syntax, recording where it was.
func (s *Scale) RewriteText(where, text string) (string, error) {
	d, err := ParseSeed(text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	r := s.Real(d)
	// Millisecond resolution keeps the output readable and parseable.
	r = r.Round(time.Millisecond)
	if r == 0 && d > 0 {
		r = time.Millisecond
	}
	s.Record(where, d, r, "")
	return r.String(), nil
}
