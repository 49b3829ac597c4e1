package loopback

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrNotLoopback is returned (wrapped) for any destination outside 127.0.0.0/8.
var ErrNotLoopback = errors.New("destination is not on the loopback network")

// UnmappedError names the URL that had no rewrite rule and is not local.
type UnmappedError struct {
	URL   string
	Rules []string // prefixes that are known, to help the user fix it
}

func (e *UnmappedError) Error() string {
	known := "none"
	if len(e.Rules) > 0 {
		known = strings.Join(e.Rules, ", ")
	}
	return fmt.Sprintf("refusing %q: it is not a loopback address and no rewrite rule maps it (known prefixes: %s)", e.URL, known)
}

func (e *UnmappedError) Unwrap() error { return ErrNotLoopback }

// Rewriter maps URL prefixes to local replacements, longest prefix first,
// like git's url.<base>.insteadOf. It is safe for concurrent use.
type Rewriter struct {
	mu    sync.RWMutex
	rules map[string]string // from prefix -> to prefix
}

// NewRewriter returns an empty table.
func NewRewriter() *Rewriter { return &Rewriter{rules: map[string]string{}} }

// Map adds a rule: URLs starting with from are rewritten to start with to.
// to must itself be a loopback URL.
func (r *Rewriter) Map(from, to string) error {
	if err := CheckURL(to); err != nil {
		return fmt.Errorf("rewrite target for %q: %w", from, err)
	}
	r.mu.Lock()
	r.rules[from] = to
	r.mu.Unlock()
	return nil
}

// Rules returns the table as from -> to, for reports.
func (r *Rewriter) Rules() map[string]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return maps.Clone(r.rules)
}

// Rewrite applies the longest matching rule. A URL that matches no rule is
// returned unchanged if it is already local, else an *UnmappedError. The
// result is always a well-formed URL on the loopback network: a malformed
// one (found by fuzzing: "http://host/%") is refused, not passed on.
func (r *Rewriter) Rewrite(raw string) (string, error) {
	r.mu.RLock()
	var best string
	for from := range r.rules {
		// The prefix's own URL without its final slash
		// ("https://charts.example.com", as a Helm repoURL is written) is
		// under it too.
		if (strings.HasPrefix(raw, from) || raw+"/" == from) && len(from) > len(best) {
			best = from
		}
	}
	to := r.rules[best]
	r.mu.RUnlock()
	if best != "" {
		out := to + strings.TrimPrefix(raw, best)
		if raw+"/" == best {
			out = strings.TrimSuffix(to, "/")
		}
		if err := CheckURL(out); err != nil {
			return "", fmt.Errorf("rewriting %q: %w", raw, err)
		}
		return out, nil
	}
	if err := CheckURL(raw); err != nil {
		var prefixes []string
		for from := range r.Rules() {
			prefixes = append(prefixes, from)
		}
		sort.Strings(prefixes)
		return "", &UnmappedError{URL: raw, Rules: prefixes}
	}
	return raw, nil
}

// CheckURL accepts only URLs whose host is a loopback IP or "localhost".
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host: %w", raw, ErrNotLoopback)
	}
	return CheckHost(u.Hostname())
}

// CheckHost accepts a loopback IP literal or "localhost"; it never resolves
// names, because resolving could itself leave the machine.
func CheckHost(host string) error {
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("host %q: %w", host, ErrNotLoopback)
	}
	return nil
}

// Dialer refuses non-loopback destinations before dialing. Use its
// DialContext in http.Transport and anywhere else Rehearse opens sockets.
type Dialer struct{ net.Dialer }

// DialContext dials addr only if its host is on the loopback network.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if err := CheckHost(host); err != nil {
		return nil, fmt.Errorf("dial %s %s refused: %w", network, addr, err)
	}
	return d.Dialer.DialContext(ctx, network, addr)
}

// Ports handed to programs that bind them later (flags of etcd, Argo CD
// ...) come from below Linux's ephemeral range (32768-60999), so a server
// that listens on port 0 in the meantime can never take one of them; and
// none is handed out twice by this process. The set is process-wide
// because ports are: two environments in one process share them.
const (
	fixedPortLow  = 20000
	fixedPortHigh = 32767
)

var (
	portMu     sync.Mutex
	portsGiven = map[int]bool{}
	portNext   = fixedPortLow + rand.IntN(fixedPortHigh-fixedPortLow)
)

// FreePort returns an unused TCP port on 127.0.0.1 for a program to bind
// later: one outside the kernel's ephemeral range, free now, and not handed
// out before by this process.
func FreePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for range fixedPortHigh - fixedPortLow {
		port := portNext
		portNext++
		if portNext > fixedPortHigh {
			portNext = fixedPortLow
		}
		if portsGiven[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("loopback: no free port left in %d-%d", fixedPortLow, fixedPortHigh)
}
