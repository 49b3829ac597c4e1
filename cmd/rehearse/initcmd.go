package main

import (
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// scaffold is what rehearse init writes: a feature, Git content (a small
// chart) and its Application, ready to run.
//
//go:embed all:scaffold
var scaffold embed.FS

func initCmd(args []string) int {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rehearse init [DIR]\n\nWrites a rehearsal project into DIR (default: the current directory): "+
			"features/, gitops/ (a small Helm chart), applications/, a README, and rehearse_test.go with go-steps/ "+
			"(a step written in Go, run by go test). Existing files are never overwritten.")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir := "."
	if fs.NArg() > 1 {
		fs.Usage()
		return 2
	}
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	written, err := writeScaffold(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rehearse init: %v\n", err)
		return 1
	}
	next := "rehearse run"
	if dir != "." {
		next = "cd " + dir + " && rehearse run"
	}
	fmt.Printf("wrote %d files in %s:\n  %s\n\nnext: %s\n", len(written), dir, strings.Join(written, "\n  "), next)
	return 0
}

// writeScaffold writes every scaffold file under dir, or none: if any of
// them exists already, it says which and writes nothing.
func writeScaffold(dir string) ([]string, error) {
	var files []string
	err := fs.WalkDir(scaffold, "scaffold", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, "scaffold/"))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var exist []string
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			exist = append(exist, f)
		}
	}
	if len(exist) > 0 {
		return nil, fmt.Errorf("%s already has %s; nothing was written", dir, strings.Join(exist, ", "))
	}
	for _, f := range files {
		b, err := scaffold.ReadFile("scaffold/" + f)
		if err != nil {
			return nil, err
		}
		target := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return nil, err
		}
	}
	return files, nil
}
