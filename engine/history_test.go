package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCLIHistoryFindsEachDeploymentsRevision(t *testing.T) {
	out := "SOURCE  http://git.local/root/q-sign.git\nID      DATE                           REVISION\n" +
		"0       2026-12-07 10:00:00 +0000 UTC  main (1a2b3c4)\n1       2026-12-07 10:00:09 +0000 UTC  main (5d6e7f8)\n"
	h := ParseCLIHistory(out)
	assert.Len(t, h, 2, "the header and the source line are not deployments")
	assert.NoError(t, h.CheckRevision(1, "5d6e7f8a9b0c"))
	assert.ErrorContains(t, h.CheckRevision(0, "5d6e7f8a9b0c"), `ID 0 is "0       2026-12-07 10:00:00 +0000 UTC  main (1a2b3c4)", want commit 5d6e7f8`)
	assert.ErrorContains(t, h.CheckRevision(2, "5d6e7f8a9b0c"), "no ID 2")
	assert.Error(t, h.CheckRevision(1, "5d6"), "a short revision proves nothing")
}
