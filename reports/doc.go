// Package reports lays out a run's report directory: reports/<run-id>/
// with cucumber JSON and JUnit XML written by godog's formatters, a
// summary.json with outcomes and measured figures, a self-contained
// index.html, and the reports/latest link to the newest run.
package reports
