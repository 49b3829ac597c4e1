package loopback

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRewriteMapsTheSeedsGitLabToTheLocalServer(t *testing.T) {
	r := NewRewriter()
	require.NoError(t, r.Map("http://192.168.0.11:7780/", "http://127.0.0.1:4321/"))
	got, err := r.Rewrite("http://192.168.0.11:7780/root/q-sign.git")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:4321/root/q-sign.git", got)
}

func TestRewriteLongestPrefixWins(t *testing.T) {
	r := NewRewriter()
	require.NoError(t, r.Map("http://192.168.0.11:7780/", "http://127.0.0.1:1/"))
	require.NoError(t, r.Map("http://192.168.0.11:7780/root/", "http://127.0.0.1:2/r/"))
	got, err := r.Rewrite("http://192.168.0.11:7780/root/x.git")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:2/r/x.git", got)
}

func TestRewriteRefusesUnmappedNonLoopback(t *testing.T) {
	r := NewRewriter()
	require.NoError(t, r.Map("http://192.168.0.11:7780/", "http://127.0.0.1:4321/"))
	for _, u := range []string{
		"http://192.168.0.11:30800/v2/",    // same host, unmapped port
		"https://gitlab.example.com/x.git", // a name is never resolved
		"http://10.0.0.1/x",
		"http://[::ffff:192.168.0.11]:7780/x",
	} {
		_, err := r.Rewrite(u)
		var unmapped *UnmappedError
		require.ErrorAs(t, err, &unmapped, u)
		assert.ErrorIs(t, err, ErrNotLoopback)
		assert.Contains(t, err.Error(), "http://192.168.0.11:7780/", "the error lists the known prefixes")
	}
}

func TestRewriteKeepsLocalURLs(t *testing.T) {
	r := NewRewriter()
	for _, u := range []string{"http://127.0.0.1:80/x", "http://localhost:9/y", "http://[::1]:3/z", "http://127.8.9.10/a"} {
		got, err := r.Rewrite(u)
		require.NoError(t, err)
		assert.Equal(t, u, got)
	}
}

func TestMapRefusesANonLoopbackTarget(t *testing.T) {
	require.Error(t, NewRewriter().Map("http://a/", "http://192.168.0.11:7780/"))
}

// The guarded dialer must refuse the seed's production host before any
// packet is sent: the refusal is immediate and no connection attempt is made.
func TestDialerRefusesTheSeedsHostsBeforeDialing(t *testing.T) {
	var dialed atomic.Int32
	d := &Dialer{Dialer: net.Dialer{Timeout: 5 * time.Second}}
	d.Dialer.ControlContext = func(context.Context, string, string, syscall.RawConn) error {
		// Runs before connect(2): if the guard ever let the address through,
		// this hook still stops the packet and the assertion below fails.
		dialed.Add(1)
		return errors.New("test hook: connect blocked")
	}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	for _, target := range []string{"http://192.168.0.11:7780/root/q-sign.git/info/refs", "http://192.168.0.11:30800/v2/"} {
		start := time.Now()
		_, err := client.Get(target)
		require.Error(t, err)
		assert.True(t, errors.Is(err, ErrNotLoopback), "%v", err)
		assert.Less(t, time.Since(start), time.Second)
	}
	assert.Zero(t, dialed.Load(), "no socket may be opened towards a non-loopback address")
}

func TestDialerAllowsLoopback(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Close()
		}
	}()
	c, err := (&Dialer{}).DialContext(context.Background(), "tcp", l.Addr().String())
	require.NoError(t, err)
	c.Close()
}

func TestFreePortsAreOutsideTheEphemeralRangeAndNeverRepeat(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 50; i++ {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < fixedPortLow || p > fixedPortHigh {
			t.Fatalf("port %d is outside %d-%d", p, fixedPortLow, fixedPortHigh)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}

func TestRewriteMapsThePrefixWithoutItsSlash(t *testing.T) {
	r := NewRewriter()
	require.NoError(t, r.Map("https://charts.example.com/", "http://127.0.0.1:9000/"))
	got, err := r.Rewrite("https://charts.example.com")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9000", got)
	got, err = r.Rewrite("https://charts.example.com/index.yaml")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9000/index.yaml", got)
	_, err = r.Rewrite("https://charts.example.co")
	assert.Error(t, err, "a shorter host is not the prefix")
}
