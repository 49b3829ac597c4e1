// Command rehearse-container is what Rehearse's pod runtime runs in a
// container whose image provides no program of its own for the job:
//
//	rehearse-container stand-in        the stand-in for a declared image
//	rehearse-container sh -c SCRIPT    a POSIX shell (mvdan.cc/sh) for the
//	rehearse-container sh FILE [ARG]   sh -c and script commands of pods
//
// It is a separate program, not code inside Rehearse, so that a container
// is a real process: it listens, exits with its own code, takes SIGTERM and
// has its own memory, as the container it stands for would. The runtime
// builds it once per machine from these files (see podruntime.BuildHelper).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rehearse-container stand-in | sh [-c SCRIPT | FILE] [ARG...]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "stand-in":
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
		if err := runStandIn(standInConfigFromEnv(), stop); err != nil {
			fmt.Fprintln(os.Stderr, "stand-in:", err)
			os.Exit(1)
		}
	case "sh":
		os.Exit(runShell(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	default:
		fmt.Fprintf(os.Stderr, "rehearse-container: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}
