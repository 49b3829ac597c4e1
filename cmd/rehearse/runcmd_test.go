package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCPUProfileIsWrittenWhenStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rehearse.cpu.pprof")
	stop, err := startCPUProfile(path)
	require.NoError(t, err)
	busy := 0
	for i := 0; i < 5_000_000; i++ {
		busy += i % 7
	}
	stop()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	// A pprof profile is a gzipped protocol buffer.
	require.Greater(t, len(b), 2, "profile is empty (busy=%d)", busy)
	assert.Equal(t, []byte{0x1f, 0x8b}, b[:2], "not a gzipped pprof profile")
}

func TestCPUProfileRefusesAnUnwritablePath(t *testing.T) {
	_, err := startCPUProfile(filepath.Join(t.TempDir(), "missing", "cpu.pprof"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--cpu-profile")
}
