package podruntime

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/rehearse/rehearse/internal/loopback"
)

// podCIDR is where pod IPs come from; each maps to the same last two
// octets in 127.77.0.0/16.
var podCIDR = net.IPNet{IP: net.IPv4(10, 245, 0, 0).To4(), Mask: net.CIDRMask(16, 32)}

// AddressPool hands out pod IPs (and so loopback addresses), reusing
// released ones last. Loopback addresses belong to the host, so runtimes
// of clusters running side by side must share one pool; and since other
// processes (another run, go test's packages side by side) hand out the
// same range, each address is also claimed machine-wide while in use, by
// an abstract Unix socket named after it, which the kernel frees when the
// process ends.
type AddressPool struct {
	mu      sync.Mutex
	next    int
	free    []int
	used    map[int]bool
	claimed map[int]net.Listener
}

const poolSize = 250 * 256

// claim takes address n machine-wide, or reports that another process has it.
func claim(n int) (net.Listener, bool) {
	ln, err := net.Listen("unix", "@rehearse-pod-address-"+strconv.Itoa(n))
	return ln, err == nil
}

func (p *AddressPool) take() (podIP, local string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used == nil {
		p.used, p.claimed = map[int]bool{}, map[int]net.Listener{}
	}
	for tries := 0; tries < poolSize; tries++ {
		n := -1
		if p.next < poolSize {
			n = p.next
			p.next++
		} else if len(p.free) > 0 {
			n, p.free = p.free[0], p.free[1:]
		}
		if n < 0 {
			break
		}
		ln, ok := claim(n)
		if !ok {
			// Another process uses it: skip it for now; it comes back
			// after the fresh ones.
			p.free = append(p.free, n)
			continue
		}
		p.used[n], p.claimed[n] = true, ln
		hi, lo := n/250, n%250+2
		return fmt.Sprintf("10.245.%d.%d", hi, lo), fmt.Sprintf("127.77.%d.%d", hi, lo), nil
	}
	return "", "", fmt.Errorf("podruntime: no pod IP left in %s", podCIDR.String())
}

func (p *AddressPool) release(podIP string) {
	ip := net.ParseIP(podIP).To4()
	if ip == nil || !podCIDR.Contains(ip) {
		return
	}
	n := int(ip[2])*250 + int(ip[3]) - 2
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used[n] {
		delete(p.used, n)
		if ln := p.claimed[n]; ln != nil {
			ln.Close()
			delete(p.claimed, n)
		}
		p.free = append(p.free, n)
	}
}

// LocalAddress maps a pod IP to the loopback address its processes use.
func LocalAddress(podIP string) (string, bool) {
	ip := net.ParseIP(podIP).To4()
	if ip == nil || !podCIDR.Contains(ip) {
		return "", false
	}
	return fmt.Sprintf("127.77.%d.%d", ip[2], ip[3]), true
}

// Dial connects to "podIP:port" (or any loopback address) over the
// simulated pod network. Other destinations are refused before dialing.
func Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if local, ok := LocalAddress(host); ok {
		addr = net.JoinHostPort(local, port)
	}
	var d loopback.Dialer
	return d.DialContext(ctx, network, addr)
}
