package proc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExitCodeIsTheProcesss(t *testing.T) {
	for _, tc := range []struct {
		script string
		code   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 143},
		{"kill -KILL $$", 137},
	} {
		p, err := Start(Spec{Name: "exit", Path: "/bin/sh", Args: []string{"-c", tc.script}, LogDir: t.TempDir()})
		require.NoError(t, err)
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not end", tc.script)
		}
		code, ok := p.ExitCode()
		assert.True(t, ok)
		assert.Equal(t, tc.code, code, tc.script)
	}
	p, err := Start(Spec{Name: "sleep", Path: "/bin/sleep", Args: []string{"5"}, LogDir: t.TempDir()})
	require.NoError(t, err)
	_, ok := p.ExitCode()
	assert.False(t, ok, "still running")
	p.Stop(time.Second)
}
