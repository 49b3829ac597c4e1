package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/rehearse/rehearse/clusters/kwok"
	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/internal/binaries"
	"github.com/rehearse/rehearse/steps"
)

func prepareCmd(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("prepare", flag.ContinueOnError)
	versions := fs.String("argocd-versions", engine.DefaultArgoCDVersion, "comma-separated Argo CD versions to build")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := log.New(os.Stderr, "rehearse: ", log.Ltime)
	root, err := binaries.DefaultRoot()
	if err != nil {
		logger.Print(err)
		return 1
	}
	cache := &binaries.Cache{Root: root, Log: logger}
	p, err := kwok.New(kwok.WithCache(cache), kwok.WithLogger(logger))
	if err == nil {
		err = p.Prepare(ctx)
	}
	for _, v := range splitList(*versions) {
		if err != nil {
			break
		}
		err = engine.Prepare(ctx, engine.WithVersion(v), engine.WithCache(cache), engine.WithLogger(logger))
	}
	for _, r := range steps.FixtureRecipes() {
		if err != nil {
			break
		}
		_, err = cache.Ensure(ctx, r)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse prepare:", err)
		return 1
	}
	logger.Printf("all binaries ready under %s", root)
	return 0
}
