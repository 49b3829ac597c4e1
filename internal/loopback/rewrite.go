package loopback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sort"
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
	out := make(map[string]string, len(r.rules))
	for k, v := range r.rules {
		out[k] = v
	}
	return out
}

// Rewrite applies the longest matching rule. A URL that matches no rule is
// returned unchanged if it is already local, else an *UnmappedError.
func (r *Rewriter) Rewrite(raw string) (string, error) {
	r.mu.RLock()
	var best string
	for from := range r.rules {
		if strings.HasPrefix(raw, from) && len(from) > len(best) {
			best = from
		}
	}
	to := r.rules[best]
	r.mu.RUnlock()
	if best != "" {
		return to + strings.TrimPrefix(raw, best), nil
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

// FreePort asks the kernel for an unused TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
