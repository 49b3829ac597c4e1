// Package features holds the Gherkin feature files, one per GitOps flow of
// the seed document, and runs them under go test (features_test.go). The
// same files run through `rehearse run`.
package features
