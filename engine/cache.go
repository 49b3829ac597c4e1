package engine

import (
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"

	"github.com/rehearse/rehearse/internal/loopback"
	"github.com/rehearse/rehearse/internal/proc"
)

// Argo CD's cache (its Redis), chosen with WithRedis.
const (
	// RedisEmbedded is a Redis server inside the Rehearse process
	// (github.com/alicebob/miniredis, which Argo CD's own tests use): no
	// system package needed. The default.
	RedisEmbedded = "embedded"
	// RedisServer is the machine's redis-server, as a process.
	RedisServer = "redis-server"
)

// WithRedis chooses Argo CD's cache: RedisEmbedded (default) or
// RedisServer.
func WithRedis(kind string) Option { return func(s *Settings) { s.Redis = kind } }

// embeddedRedis is Argo CD's Redis, served in-process. It records every
// command Argo CD sends, so that a command it does not serve (which a real
// Redis would) is reported instead of silently answered with an error.
type embeddedRedis struct {
	m *miniredis.Miniredis

	mu      sync.Mutex
	seen    map[string]int // commands by name, as sent
	unknown []string       // commands it answered "unknown command"
}

func startEmbeddedRedis() (*embeddedRedis, error) {
	r := &embeddedRedis{m: miniredis.NewMiniRedis(), seen: map[string]int{}}
	// Keys expire with the wall clock, as in Redis: the repo-server's
	// revision cache, compressed to seconds, must run out on time.
	r.m.ClockTTL(true)
	if err := r.m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("starting the embedded Redis: %w", err)
	}
	r.m.Server().SetPreHook(r.observe)
	return r, nil
}

// observe runs before each command. The first time a command name comes,
// it tries to register a handler under that name: miniredis refuses for a
// command it serves, so a successful registration means it does not serve
// it, and the handler then answers as Redis answers an unknown command and
// records it.
func (r *embeddedRedis) observe(_ *server.Peer, cmd string, _ ...string) bool {
	r.mu.Lock()
	r.seen[cmd]++
	first := r.seen[cmd] == 1
	r.mu.Unlock()
	if first {
		_ = r.m.Server().Register(cmd, r.unknownCommand)
	}
	return false
}

func (r *embeddedRedis) unknownCommand(c *server.Peer, cmd string, _ []string) {
	r.mu.Lock()
	if !slices.Contains(r.unknown, cmd) {
		r.unknown = append(r.unknown, cmd)
	}
	r.mu.Unlock()
	c.WriteError(fmt.Sprintf("ERR unknown command '%s'", cmd))
}

func (r *embeddedRedis) Addr() string { return r.m.Addr() }

func (r *embeddedRedis) Close() { r.m.Close() }

// Commands are the command names Argo CD sent, with how many times.
func (r *embeddedRedis) Commands() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.seen)
}

// Unserved are the commands Argo CD sent that the embedded Redis does not
// serve, in the order first seen.
func (r *embeddedRedis) Unserved() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.unknown)
}

// startCache starts the chosen Redis and returns its address.
func (e *Engine) startCache() (string, error) {
	switch e.settings.Redis {
	case "", RedisEmbedded:
		r, err := startEmbeddedRedis()
		if err != nil {
			return "", err
		}
		e.embedded = r
		return r.Addr(), nil
	case RedisServer:
		path, err := exec.LookPath("redis-server")
		if err != nil {
			return "", errors.New("redis-server not found: the redis-server cache needs it (Debian: apt-get install redis-server); the default embedded cache does not")
		}
		port, err := loopback.FreePort()
		if err != nil {
			return "", err
		}
		if _, err := e.procs.Start(proc.Spec{Name: "redis", Path: path, LogDir: filepath.Join(e.dir, "logs"), Dir: e.dir,
			Args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}}); err != nil {
			return "", err
		}
		return "127.0.0.1:" + strconv.Itoa(port), nil
	default:
		return "", fmt.Errorf("unknown Argo CD cache %q (known: %s, %s)", e.settings.Redis, RedisEmbedded, RedisServer)
	}
}

// CacheUnserved are the Redis commands Argo CD sent that the embedded
// cache does not serve (a real Redis would have): a departure from the
// real thing that callers should fail on. Nil with redis-server.
func (e *Engine) CacheUnserved() []string {
	if e.embedded == nil {
		return nil
	}
	return e.embedded.Unserved()
}
