package netns

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newOrSkip(t *testing.T) *Namespace {
	t.Helper()
	n, err := New()
	if err != nil && os.Geteuid() != 0 {
		t.Skipf("not root: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	return n
}

// echo serves one line back on the machine's loopback.
func echo(t *testing.T) string {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go serveLines(l, "echo ")
	return l.Addr().String()
}

// serveLines answers each connection's first line with prefix before it.
func serveLines(l net.Listener, prefix string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			line, _ := bufio.NewReader(c).ReadString('\n')
			_, _ = c.Write([]byte(prefix + line))
		}()
	}
}

func roundTrip(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err := c.Write([]byte(msg + "\n"))
	require.NoError(t, err)
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSpace(line)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A program inside reaches the machine's loopback servers, including one
// started after the namespace (as a scenario's mail server is).
func TestInsideReachesTheMachinesLoopback(t *testing.T) {
	n := newOrSkip(t)
	addr := echo(t)
	var c net.Conn
	require.NoError(t, n.Do(func() (err error) { c, err = net.Dial("tcp4", addr); return err }))
	assert.Equal(t, "echo hello", roundTrip(t, c, "hello"))

	// Nothing listens there: refused inside as it would be outside.
	closed := freePort(t)
	err := n.Do(func() error {
		c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(closed), 2*time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			_, err = c.Read(make([]byte, 1)) // the forwarder closes it
			c.Close()
		}
		return err
	})
	assert.Error(t, err)
}

// A listener on every address inside is on no interface of the machine;
// exposed, its port answers on the machine's 127.0.0.1 only.
func TestExposedPortAnswersOnTheMachinesLoopbackOnly(t *testing.T) {
	n := newOrSkip(t)
	port := freePort(t)
	var l net.Listener
	require.NoError(t, n.Do(func() (err error) { l, err = net.Listen("tcp4", "0.0.0.0:"+strconv.Itoa(port)); return err }))
	defer l.Close()
	go serveLines(l, "inside ")
	require.NoError(t, n.Expose(port))
	c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err)
	assert.Equal(t, "inside hi", roundTrip(t, c, "hi"))

	// The machine's own socket table has the exposed port on 127.0.0.1
	// and nothing on 0.0.0.0.
	listeners := hostListeners(t)
	assert.Contains(t, listeners, "127.0.0.1:"+strconv.Itoa(port))
	assert.NotContains(t, listeners, "0.0.0.0:"+strconv.Itoa(port))
}

// A process started in Do lives in the namespace, which has no interface
// but lo, and outlives Do.
func TestProcessStartedInsideStaysInside(t *testing.T) {
	n := newOrSkip(t)
	cmd := exec.Command("sleep", "30")
	require.NoError(t, n.Do(cmd.Start))
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.Signal(0)), "alive after Do returned")
	mine, err := os.Readlink("/proc/self/ns/net")
	require.NoError(t, err)
	its, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net")
	require.NoError(t, err)
	assert.NotEqual(t, mine, its)
	dev, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/net/dev")
	require.NoError(t, err)
	var ifaces []string
	for _, line := range strings.Split(string(dev), "\n")[2:] {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			ifaces = append(ifaces, name)
		}
	}
	assert.Equal(t, []string{"lo"}, ifaces)
}

// hostListeners lists "addr:port" of the test process's own listening
// sockets, as the machine sees them.
func hostListeners(t *testing.T) []string {
	ls, err := Listeners(os.Getpid())
	require.NoError(t, err)
	var out []string
	for _, l := range ls {
		assert.False(t, l.Isolated, "the test runs in the machine's namespace")
		out = append(out, l.Addr.String())
	}
	return out
}

func TestParseProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:0050":                         "0.0.0.0:80",
		"00000000000000000000000001000000:0016": "[::1]:22",
		"0000000000000000FFFF00000100007F:1F90": "127.0.0.1:8080",
	} {
		got, err := parseProcAddr(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got.String(), in)
	}
	_, err := parseProcAddr("zz:1")
	assert.Error(t, err)
}
