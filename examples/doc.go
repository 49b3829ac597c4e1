// Package examples holds rehearsal projects written as a user would write
// them for their own systems: each directory has features/ and the Git
// content, Applications and images its scenarios name, and runs with
// `rehearse run` from a copy anywhere. examples_test.go runs them all.
package examples
