package main

import (
	"context"
	"fmt"
	"os"
	"strings"
)

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runCmd(ctx context.Context, args []string) int {
	fmt.Fprintln(os.Stderr, "rehearse run: not wired yet")
	return 1
}
