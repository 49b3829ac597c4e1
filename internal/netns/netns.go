package netns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Namespace is a network namespace with only a loopback interface, whose
// outgoing loopback connections reach the machine's loopback.
type Namespace struct {
	ns, host *os.File // the namespace, and the one Rehearse's threads return to
	nft      *nftables.Conn
	exposed  *nftables.Set
	table    *nftables.Table
	inside   net.Listener // the forwarder, inside the namespace

	mu        sync.Mutex
	listeners []net.Listener // exposed ports on the machine's loopback
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
}

// New makes a namespace and starts its forwarder.
func New() (*Namespace, error) {
	host, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("network namespace: %w", err)
	}
	n := &Namespace{host: host, conns: map[net.Conn]struct{}{}}
	if err := n.create(); err != nil {
		host.Close()
		return nil, fmt.Errorf("making a network namespace (needs root: CAP_SYS_ADMIN and CAP_NET_ADMIN): %w", err)
	}
	if err := n.setUp(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// create unshares a new namespace on a locked thread, keeps a handle to it
// and puts the thread back where it was.
func (n *Namespace) create() error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		if err == nil {
			n.ns = f
		}
		if rerr := unix.Setns(int(n.host.Fd()), unix.CLONE_NEWNET); rerr != nil {
			// The thread stays in the new namespace: let it die with
			// this goroutine rather than serve others.
			errc <- errors.Join(err, fmt.Errorf("returning to the machine's namespace: %w", rerr))
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// Do runs f on an OS thread inside the namespace. Sockets f opens and
// processes it starts belong to the namespace; the thread returns to the
// machine's namespace afterwards and lives on, so a child started with
// Pdeathsig is not killed when Do returns.
func (n *Namespace) Do(f func() error) error {
	runtime.LockOSThread()
	if err := unix.Setns(int(n.ns.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering the network namespace: %w", err)
	}
	ferr := f()
	if err := unix.Setns(int(n.host.Fd()), unix.CLONE_NEWNET); err != nil {
		// Never unlock a thread left in the namespace: the goroutine's
		// end takes it down.
		return errors.Join(ferr, fmt.Errorf("leaving the network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}

func (n *Namespace) setUp() error {
	if err := n.Do(loopbackUp); err != nil {
		return fmt.Errorf("bringing the namespace's loopback up: %w", err)
	}
	if err := n.Do(func() (err error) {
		n.inside, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}); err != nil {
		return fmt.Errorf("starting the namespace's forwarder: %w", err)
	}
	if err := n.redirect(uint16(n.inside.Addr().(*net.TCPAddr).Port)); err != nil {
		return fmt.Errorf("redirecting the namespace's loopback connections: %w", err)
	}
	n.wg.Add(1)
	go n.forwardOut()
	return nil
}

// loopbackUp sets lo up (a new namespace's is down).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// redirect installs, in the namespace:
//
//	table ip rehearse { set exposed { type inet_service }
//	  chain out { type nat hook output priority -100;
//	    ip daddr 127.0.0.0/8 tcp dport != @exposed tcp dport != FWD redirect to :FWD } }
func (n *Namespace) redirect(fwd uint16) error {
	c, err := nftables.New(nftables.WithNetNSFd(int(n.ns.Fd())))
	if err != nil {
		return err
	}
	n.nft = c
	n.table = c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "rehearse"})
	n.exposed = &nftables.Set{Table: n.table, Name: "exposed", KeyType: nftables.TypeInetService}
	if err := c.AddSet(n.exposed, nil); err != nil {
		return err
	}
	out := c.AddChain(&nftables.Chain{Name: "out", Table: n.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest})
	port := binaryutil.BigEndian.PutUint16(fwd)
	c.AddRule(&nftables.Rule{Table: n.table, Chain: out, Exprs: []expr.Any{
		// ip daddr & 255.0.0.0 == 127.0.0.0
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{255, 0, 0, 0}, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{127, 0, 0, 0}},
		// tcp
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		// tcp dport not exposed, and not the forwarder itself
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: 1, SetName: n.exposed.Name, SetID: n.exposed.ID, Invert: true},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: port},
		&expr.Immediate{Register: 1, Data: port},
		&expr.Redir{RegisterProtoMin: 1},
	}})
	return c.Flush()
}

// forwardOut serves the redirected connections: each goes on to its
// original destination on the machine's loopback.
func (n *Namespace) forwardOut() {
	defer n.wg.Done()
	for {
		in, err := n.inside.Accept()
		if err != nil {
			return
		}
		dst, err := originalDestination(in.(*net.TCPConn))
		if err != nil || !dst.Addr().IsLoopback() {
			in.Close()
			continue
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			out, err := net.Dial("tcp", dst.String())
			if err != nil {
				in.Close() // the client sees its connection refused, as it would
				return
			}
			n.pipe(in, out)
		}()
	}
}

// originalDestination reads where a redirected connection was headed.
func originalDestination(c *net.TCPConn) (netip.AddrPort, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var dst netip.AddrPort
	var gerr error
	err = raw.Control(func(fd uintptr) {
		// A struct sockaddr_in fits in the 16 bytes of an ipv6_mreq.
		m, err := unix.GetsockoptIPv6Mreq(int(fd), unix.SOL_IP, unix.SO_ORIGINAL_DST)
		if err != nil {
			gerr = err
			return
		}
		b := m.Multiaddr
		dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]}), binary.BigEndian.Uint16(b[2:4]))
	})
	return dst, errors.Join(err, gerr)
}

// Expose makes the namespace's port reachable on the machine's loopback
// as 127.0.0.1:port, and leaves connections to it inside the namespace
// alone. The port must be free on the machine (loopback.FreePort).
func (n *Namespace) Expose(port int) error {
	n.nft.SetAddElements(n.exposed, []nftables.SetElement{{Key: binaryutil.BigEndian.PutUint16(uint16(port))}})
	if err := n.nft.Flush(); err != nil {
		return fmt.Errorf("exposing port %d of the network namespace: %w", port, err)
	}
	l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return fmt.Errorf("exposing port %d of the network namespace: %w", port, err)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		l.Close()
		return errors.New("the network namespace is closed")
	}
	n.listeners = append(n.listeners, l)
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				var out net.Conn
				if err := n.Do(func() (err error) {
					out, err = (&net.Dialer{}).DialContext(context.Background(), "tcp4", "127.0.0.1:"+strconv.Itoa(port))
					return err
				}); err != nil {
					in.Close()
					return
				}
				n.pipe(in, out)
			}()
		}
	}()
	return nil
}

// pipe copies both ways until either side ends, then closes both.
func (n *Namespace) pipe(a, b net.Conn) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		a.Close()
		b.Close()
		return
	}
	n.conns[a], n.conns[b] = struct{}{}, struct{}{}
	n.mu.Unlock()
	done := make(chan struct{}, 2)
	copyHalf := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Pass the end of one direction on, as a proxy should: HTTP
		// clients may half-close.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go copyHalf(a, b)
	go copyHalf(b, a)
	<-done
	<-done
	a.Close()
	b.Close()
	n.mu.Lock()
	delete(n.conns, a)
	delete(n.conns, b)
	n.mu.Unlock()
}

// Close stops the forwarders and releases the namespace. The processes
// started in it must have exited first: the namespace goes when its last
// user does.
func (n *Namespace) Close() error {
	n.mu.Lock()
	n.closed = true
	for _, l := range n.listeners {
		l.Close()
	}
	for c := range n.conns {
		c.Close()
	}
	n.mu.Unlock()
	if n.inside != nil {
		n.inside.Close()
	}
	n.wg.Wait()
	if n.nft != nil {
		_ = n.nft.CloseLasting()
	}
	var err error
	if n.ns != nil {
		err = n.ns.Close()
	}
	return errors.Join(err, n.host.Close())
}
