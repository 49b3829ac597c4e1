package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rehearse/rehearse/steps"
)

func stepsCmd(args []string) int {
	fs := flag.NewFlagSet("steps", flag.ContinueOnError)
	markdown := fs.Bool("markdown", false, "print docs/steps.md instead of the terminal listing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	write := steps.WriteText
	if *markdown {
		write = steps.WriteMarkdown
	}
	if err := write(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rehearse steps:", err)
		return 1
	}
	return 0
}
