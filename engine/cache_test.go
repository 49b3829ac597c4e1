package engine

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// send writes one command in RESP and returns the first line of the reply.
func send(t *testing.T, conn net.Conn, r *bufio.Reader, args ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	_, err := conn.Write([]byte(b.String()))
	require.NoError(t, err)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	if strings.HasPrefix(line, "$") && !strings.HasPrefix(line, "$-1") {
		line, err = r.ReadString('\n')
		require.NoError(t, err)
	}
	return strings.TrimSpace(line)
}

func TestEmbeddedRedisReportsWhatItDoesNotServe(t *testing.T) {
	r, err := startEmbeddedRedis()
	require.NoError(t, err)
	defer r.Close()
	require.True(t, strings.HasPrefix(r.Addr(), "127.0.0.1:"), r.Addr())
	conn, err := net.Dial("tcp", r.Addr())
	require.NoError(t, err)
	defer conn.Close()
	rd := bufio.NewReader(conn)

	assert.Equal(t, "+OK", send(t, conn, rd, "SET", "app|state", "v1"))
	assert.Equal(t, "v1", send(t, conn, rd, "GET", "app|state"))
	assert.Equal(t, "-ERR unknown command 'NOSUCHCOMMAND'", send(t, conn, rd, "nosuchcommand", "x"))
	assert.Equal(t, "-ERR unknown command 'NOSUCHCOMMAND'", send(t, conn, rd, "NOSUCHCOMMAND"), "answered the same the second time")
	assert.Equal(t, []string{"NOSUCHCOMMAND"}, r.Unserved(), "only the command it does not serve")
	assert.Equal(t, map[string]int{"SET": 1, "GET": 1, "NOSUCHCOMMAND": 2}, r.Commands())
}

// Argo CD's caches rely on expiry (the repo-server's revision cache is
// compressed to seconds): keys must expire on the wall clock, as in Redis.
func TestEmbeddedRedisExpiresKeysOnTheClock(t *testing.T) {
	r, err := startEmbeddedRedis()
	require.NoError(t, err)
	defer r.Close()
	conn, err := net.Dial("tcp", r.Addr())
	require.NoError(t, err)
	defer conn.Close()
	rd := bufio.NewReader(conn)
	assert.Equal(t, "+OK", send(t, conn, rd, "SET", "revision", "abc", "PX", "200"))
	assert.Equal(t, "abc", send(t, conn, rd, "GET", "revision"))
	deadline := time.Now().Add(5 * time.Second)
	for send(t, conn, rd, "GET", "revision") != "$-1" {
		require.True(t, time.Now().Before(deadline), "the key did not expire")
		time.Sleep(50 * time.Millisecond)
	}
	assert.Empty(t, r.Unserved())
}
