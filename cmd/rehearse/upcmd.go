package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/engine/lane"
	"github.com/rehearse/rehearse/internal/binaries"
	"github.com/rehearse/rehearse/steps"
)

// statePath is where a running `rehearse up` tells `rehearse app` how to
// reach its argocd-server.
func statePath() (string, error) {
	root, err := binaries.DefaultRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "up.json"), nil
}

func upCmd(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	argocd := fs.String("argocd-version", engine.DefaultArgoCDVersion, "Argo CD version")
	scale := fs.Float64("time-scale", 60, "time compression")
	app := fs.String("application", "features/applications/q-sign-auto.yaml", "Application file to apply once up (empty: none)")
	repos := fs.String("repos", "fixtures/repos", "folder holding the q-sign example's repositories (q-sign, q-sign-app)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := log.New(os.Stderr, "rehearse: ", log.Ltime)
	var apps []string
	if *app != "" {
		abs, err := filepath.Abs(*app)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rehearse up:", err)
			return 2
		}
		apps = append(apps, abs)
	}
	x, err := steps.StartExplorer(ctx, lane.Options{ArgoCDVersion: *argocd, TimeScale: *scale, Log: logger}, *repos, apps...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse up:", err)
		return 1
	}
	defer x.Close()
	path, err := statePath()
	if err == nil {
		b, _ := json.MarshalIndent(x.CLI(), "", "  ")
		err = os.WriteFile(path, b, 0o600)
		defer os.Remove(path)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse up:", err)
		return 1
	}
	x.Describe(os.Stdout)
	fmt.Println("\nrunning; press Ctrl-C to tear everything down")
	<-ctx.Done()
	return 0
}

func appCmd(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: rehearse app <get|history|sync|rollback|diff|...> APP [flags]  (runs the argocd CLI against `rehearse up`)")
		return 2
	}
	path, err := statePath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse app:", err)
		return 1
	}
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse app: no running environment (start one with `rehearse up`):", err)
		return 1
	}
	var h engine.CLIHandle
	if err := json.Unmarshal(b, &h); err != nil {
		fmt.Fprintln(os.Stderr, "rehearse app:", path, err)
		return 1
	}
	out, err := h.Run(ctx, append([]string{"app"}, args...)...)
	fmt.Print(out)
	if err != nil {
		return 1
	}
	return 0
}
