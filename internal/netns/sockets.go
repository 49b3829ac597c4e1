package netns

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Listener is a listening TCP socket a process holds.
type Listener struct {
	Addr netip.AddrPort
	// Isolated is true when the socket is in a network namespace that has
	// no interface but lo: whatever its address, only that namespace can
	// reach it.
	Isolated bool
}

// Listeners lists the listening TCP sockets process pid holds, from
// /proc/PID/net/tcp and tcp6 (its own namespace's tables) and its open
// file descriptors.
func Listeners(pid int) ([]Listener, error) {
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	mine := map[string]bool{}
	fds, err := os.ReadDir(filepath.Join(proc, "fd"))
	if err != nil {
		return nil, fmt.Errorf("listing the sockets of process %d: %w", pid, err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(proc, "fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	isolated, err := onlyLoopback(proc)
	if err != nil {
		return nil, err
	}
	var out []Listener
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(proc, "net", table))
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "0A" || !mine[f[9]] {
				continue
			}
			addr, err := parseProcAddr(f[1])
			if err != nil {
				return nil, fmt.Errorf("%s/net/%s line %d: %w", proc, table, i+2, err)
			}
			out = append(out, Listener{Addr: addr, Isolated: isolated})
		}
	}
	return out, nil
}

// onlyLoopback tells whether the process's namespace has lo alone.
func onlyLoopback(proc string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(proc, "net", "dev"))
	if err != nil {
		return false, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, line := range lines[min(2, len(lines)):] {
		if name, _, _ := strings.Cut(strings.TrimSpace(line), ":"); name != "lo" {
			return false, nil
		}
	}
	return true, nil
}

// parseProcAddr reads "0100007F:1F90" (IPv4) or a 32-digit IPv6 address:
// the kernel prints each 32-bit word in host (little-endian) order.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if !ok || err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad socket address %q", s)
	}
	raw, err := hex.DecodeString(hexAddr)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad socket address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
