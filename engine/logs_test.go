package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLogLine(t *testing.T) {
	l, ok := ParseLogLine(`time="2026-12-01T01:02:03.123456Z" level=info msg="Initiated automated sync to 'abc \"x\"'" application=argocd/q-sign dest-namespace=q-sign`)
	require.True(t, ok)
	assert.Equal(t, time.Date(2026, 12, 1, 1, 2, 3, 123456000, time.UTC), l.Time.UTC())
	assert.Equal(t, "info", l.Level)
	assert.Equal(t, `Initiated automated sync to 'abc "x"'`, l.Message)
	assert.Equal(t, "argocd/q-sign", l.Fields["application"])
	l, ok = ParseLogLine(`{"application":"argocd/q-sign","level":"info","msg":"Tasks","tasks":[1,2],"time":"2026-12-01T01:02:03.5Z"}`)
	require.True(t, ok)
	assert.Equal(t, "Tasks", l.Message)
	assert.Equal(t, "argocd/q-sign", l.Fields["application"])
	assert.Equal(t, "[1,2]", l.Fields["tasks"])
	_, ok = ParseLogLine("panic: something")
	assert.False(t, ok)
	_, ok = ParseLogLine(`time="bad" msg=x`)
	assert.False(t, ok)
}

func FuzzParseLogLine(f *testing.F) {
	f.Add(`time="2026-12-01T01:02:03.123456Z" level=info msg="helm template ." dir=/tmp/x execID=1`)
	f.Fuzz(func(t *testing.T, s string) { ParseLogLine(s) })
}
