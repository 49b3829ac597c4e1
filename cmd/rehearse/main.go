// Command rehearse runs GitOps flow scenarios against the real Argo CD on
// ephemeral clusters. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: rehearse <command> [flags]

commands:
  init     write a rehearsal project (a feature, Git content, an Application) to start from
  run      run feature files (default: features/) and write a report
  nightly  run every feature on each Argo CD line, add the runs to the history, draw the trend and version matrix
  soak     run the features N times back to back (--runs) and list every failure with its run's report
  prepare  build every binary the default backend and engine need (cached)
  steps    list every step pattern with its documentation and an example
  up       start a cluster, Argo CD and the Git server, print how to reach them, wait for Ctrl-C
  app      run the argocd CLI's app commands (get, history, sync, rollback ...) against rehearse up
`)
}

func run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		usage()
		return 2
	}
	switch args[0] {
	case "init":
		return initCmd(args[1:])
	case "prepare":
		return prepareCmd(ctx, args[1:])
	case "run":
		return runCmd(ctx, args[1:])
	case "up":
		return upCmd(ctx, args[1:])
	case "nightly":
		return nightlyCmd(ctx, args[1:])
	case "soak":
		return soakCmd(ctx, args[1:])
	case "app":
		return appCmd(ctx, args[1:])
	case "steps":
		return stepsCmd(args[1:])
	case "-h", "--help", "help":
		usage()
		return 0
	default:
		fmt.Fprintf(os.Stderr, "rehearse: unknown command %q\n", args[0])
		usage()
		return 2
	}
}
