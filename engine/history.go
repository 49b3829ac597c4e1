package engine

import (
	"fmt"
	"strconv"
	"strings"
)

// CLIHistory is `argocd app history`'s table, by deployment ID: each line
// as printed (ID, date, revision).
type CLIHistory map[int]string

// ParseCLIHistory reads `argocd app history` output; lines that do not
// start with an ID (the header, blank lines) are left out.
func ParseCLIHistory(out string) CLIHistory {
	h := CLIHistory{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if id, err := strconv.Atoi(f[0]); err == nil {
			h[id] = strings.TrimSpace(line)
		}
	}
	return h
}

// CheckRevision says whether deployment id is at the commit sha (the CLI
// prints its first 7 characters).
func (h CLIHistory) CheckRevision(id int, sha string) error {
	line, ok := h[id]
	if !ok {
		return fmt.Errorf("no ID %d", id)
	}
	if len(sha) < 7 || !strings.Contains(line, sha[:7]) {
		return fmt.Errorf("ID %d is %q, want commit %.7s", id, line, sha)
	}
	return nil
}
