// Package steps holds Rehearse's Gherkin step definitions and the suite
// runner that binds them to godog.
//
// Steps are thin: each one parses its arguments and calls a domain package
// (engine, fixtures, clusters). Every scenario gets its own World, so no
// state is shared between scenarios except the run's Environment (cluster
// and engine), which scenarios use through names they own. Every wait has
// an explicit timeout and reports what it waited for and what it saw last.
package steps
