// Package logging is the one logger type every Rehearse package takes: a
// sink for progress lines. A *log.Logger is one; so is anything with
// Printf. A cold build or a cluster's start is long, and says what it is
// doing through it rather than staying silent.
package logging

// Logger receives progress lines.
type Logger interface {
	Printf(format string, args ...any)
}
