package steps

import (
	"testing"

	"github.com/prometheus/prometheus/promql"
	"github.com/stretchr/testify/assert"

	"github.com/rehearse/rehearse/internal/await"
)

// "has received 2 e-mails" is exactly two: a third fails at once, and only
// "at least" lets more through.
func TestCountReachedIsExactUnlessAtLeast(t *testing.T) {
	assert.Equal(t, await.Pending, countReached(1, 2, false, "").State)
	assert.Equal(t, await.Pass, countReached(2, 2, false, "").State)
	assert.Equal(t, await.Fail, countReached(3, 2, false, "").State, "three e-mails are not two")
	assert.Equal(t, await.Pass, countReached(3, 2, true, "").State)
	assert.Equal(t, await.Pending, countReached(1, 2, true, "").State)
}

// "sees no errors" needs Prometheus to have scraped requests: an empty
// answer (the `or vector(0)` the query used to end with turned it into 0)
// says nothing about errors.
func TestNoErrorsNeedsScrapedRequests(t *testing.T) {
	sample := func(v float64) promql.Vector { return promql.Vector{{F: v}} }
	assert.NoError(t, noErrors("errors", nil, "requests", sample(95)), "no 5xx series at all: no errors")
	assert.NoError(t, noErrors("errors", sample(0), "requests", sample(95)))
	assert.ErrorContains(t, noErrors("errors", sample(0.5), "requests", sample(95)), "errors detected")
	assert.ErrorContains(t, noErrors("errors", nil, "requests", nil), "scraped no requests")
	assert.ErrorContains(t, noErrors("errors", sample(0), "requests", sample(0)), "scraped no requests")
}
