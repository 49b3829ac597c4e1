package podruntime

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/yaml"
)

// StandInBehaviour is how a stand-in acts (rehearse-container's Behaviour).
// The zero value is a healthy server that answers 200.
type StandInBehaviour struct {
	// NotReady fails every probe, so the pod never becomes Ready.
	NotReady bool `json:"notReady,omitempty"`
	// ErrorRate is the share of requests answered 500 (0 to 1).
	ErrorRate float64 `json:"errorRate,omitempty"`
	// Latency delays every answer.
	Latency time.Duration `json:"-"`
	// ExitAfter and ExitCode end the program: a crash, or a Job that
	// completes. Both zero: it serves until stopped.
	ExitAfter time.Duration `json:"-"`
	ExitCode  int           `json:"exitCode,omitempty"`
	// ShutdownDelay is the longest it keeps serving after SIGTERM (until
	// half a second without a request); nil: 2 s, 0: none.
	ShutdownDelay *time.Duration `json:"-"`
}

func (b StandInBehaviour) encode() string {
	type wire struct {
		StandInBehaviour
		Latency       string  `json:"latency,omitempty"`
		ExitAfter     string  `json:"exitAfter,omitempty"`
		ShutdownDelay *string `json:"shutdownDelay,omitempty"`
	}
	w := wire{StandInBehaviour: b}
	if b.ShutdownDelay != nil {
		d := b.ShutdownDelay.String()
		w.ShutdownDelay = &d
	}
	if b.Latency > 0 {
		w.Latency = b.Latency.String()
	}
	if b.ExitAfter > 0 {
		w.ExitAfter = b.ExitAfter.String()
	}
	out, _ := json.Marshal(w) // plain fields: cannot fail
	return string(out)
}

// StandIns is the table of images that run Rehearse's stand-in program
// instead of being pulled. An image is stood in only when a pattern
// declares it: never silently. Safe for concurrent use; a scenario resets
// it, like the registry mirror table.
type StandIns struct {
	mu    sync.Mutex
	rules []standInRule
	// unserved: an image no registry here serves (its host unmapped, or
	// no such repository or tag) is stood in rather than failing to pull.
	unserved bool
}

// UnservedPattern is the pattern named as declaring an image stood in
// because no registry served it (StandInUnserved).
const UnservedPattern = "every image no registry here serves"

// StandInUnserved stands in every image no registry here serves: its
// host is not mapped, or the mapped registry has no such repository or
// tag. The project chose it; the pod's events still say, for each image,
// that it is a stand-in and why. An authentication failure is never
// stood in: it is a configuration to fix.
func (s *StandIns) StandInUnserved() {
	s.mu.Lock()
	s.unserved = true
	s.mu.Unlock()
}

// Unserved says whether StandInUnserved was asked, and the behaviour an
// unserved image then gets (the matching behaviours'; a later one wins).
func (s *StandIns) Unserved(image string) (StandInBehaviour, bool) {
	if s == nil {
		return StandInBehaviour{}, false
	}
	s.mu.Lock()
	on := s.unserved
	s.mu.Unlock()
	if !on {
		return StandInBehaviour{}, false
	}
	_, b, _ := s.Match(image)
	return b, true
}

type standInRule struct {
	pattern   string
	re        *regexp.Regexp
	behaviour *StandInBehaviour // nil: declares only
}

// compilePattern turns an image pattern into a regexp: "*" matches any
// characters, "/" included ("docker.io/*" covers docker.io/library/nginx).
func compilePattern(pattern string) (*regexp.Regexp, error) {
	if strings.TrimSpace(pattern) == "" || strings.ContainsAny(pattern, " \t\n") {
		return nil, fmt.Errorf("image pattern %q: empty or has spaces", pattern)
	}
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.Compile("^" + strings.Join(parts, ".*") + "$")
}

// Declare stands in every image matching pattern ("nginx", "nginx:1.27",
// "docker.io/*", "ghcr.io/acme/*", "*").
func (s *StandIns) Declare(pattern string) error {
	re, err := compilePattern(pattern)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, standInRule{pattern: pattern, re: re})
	return nil
}

// SetBehaviour gives the stand-ins of images matching pattern a behaviour;
// the last one set for a matching pattern wins, so a tag's ("web:v2")
// can follow the image's ("web"). It does not itself declare a stand-in.
func (s *StandIns) SetBehaviour(pattern string, b StandInBehaviour) error {
	re, err := compilePattern(pattern)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, standInRule{pattern: pattern, re: re, behaviour: &b})
	return nil
}

// Reset forgets every declaration and behaviour, and StandInUnserved.
func (s *StandIns) Reset() {
	s.mu.Lock()
	s.rules, s.unserved = nil, false
	s.mu.Unlock()
}

// imageForms are the names an image is matched by: as written, and fully
// qualified with and without its tag ("nginx" is also
// "docker.io/library/nginx:latest" and "docker.io/library/nginx").
func imageForms(image string) []string {
	forms := []string{image}
	ref, err := name.ParseReference(image)
	if err != nil {
		return forms
	}
	repo := ref.Context().RepositoryStr()
	reg := ref.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	full := reg + "/" + repo
	sep := ":"
	if _, ok := ref.(name.Digest); ok {
		sep = "@"
	}
	return append(forms, full+sep+ref.Identifier(), full)
}

// Match says whether image is stood in, the pattern that declared it, and
// its behaviour.
func (s *StandIns) Match(image string) (pattern string, b StandInBehaviour, ok bool) {
	if s == nil {
		return "", b, false
	}
	forms := imageForms(image)
	matches := func(re *regexp.Regexp) bool {
		for _, f := range forms {
			if re.MatchString(f) {
				return true
			}
		}
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rules {
		if !matches(r.re) {
			continue
		}
		if r.behaviour != nil {
			b = *r.behaviour
		} else if !ok {
			pattern, ok = r.pattern, true
		}
	}
	return pattern, b, ok
}

// ParseStandInBehaviour reads a behaviour written as YAML or JSON:
//
//	{"errorRate": 0.1, "latency": "50ms", "notReady": false, "exitAfter": "2s", "exitCode": 1}
//
// Unknown fields are refused, so a misspelt one is not silently ignored.
func ParseStandInBehaviour(text []byte) (StandInBehaviour, error) {
	var w struct {
		NotReady  bool     `json:"notReady"`
		ErrorRate *float64 `json:"errorRate"`
		Latency   string   `json:"latency"`
		ExitAfter string   `json:"exitAfter"`
		ExitCode  int      `json:"exitCode"`
		Shutdown  *string  `json:"shutdownDelay"`
	}
	if err := yaml.UnmarshalStrict(text, &w); err != nil {
		return StandInBehaviour{}, fmt.Errorf("stand-in behaviour: %w (fields: notReady, errorRate, latency, exitAfter, exitCode, shutdownDelay)", err)
	}
	b := StandInBehaviour{NotReady: w.NotReady, ExitCode: w.ExitCode}
	if w.ErrorRate != nil {
		if *w.ErrorRate < 0 || *w.ErrorRate > 1 {
			return b, fmt.Errorf("stand-in behaviour: errorRate %v is not between 0 and 1", *w.ErrorRate)
		}
		b.ErrorRate = *w.ErrorRate
	}
	for _, d := range []struct {
		name, text string
		to         *time.Duration
	}{{"latency", w.Latency, &b.Latency}, {"exitAfter", w.ExitAfter, &b.ExitAfter}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v < 0 {
			return b, fmt.Errorf("stand-in behaviour: %s %q is not a duration such as \"250ms\"", d.name, d.text)
		}
		*d.to = v
	}
	if w.Shutdown != nil {
		v, err := time.ParseDuration(*w.Shutdown)
		if err != nil || v < 0 {
			return b, fmt.Errorf("stand-in behaviour: shutdownDelay %q is not a duration such as \"2s\"", *w.Shutdown)
		}
		b.ShutdownDelay = &v
	}
	return b, nil
}
