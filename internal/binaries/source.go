package binaries

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// EnsureSource builds a program of Rehearse's own, whose whole module
// (go.mod and go.sum included, as "_go.mod" and "_go.sum" so that it stays
// a package of this module) is src. It is cached under a digest of the
// source, so a changed program is built again and an unchanged one never,
// and returns the binary's path.
func (c *Cache) EnsureSource(ctx context.Context, name string, src fs.FS, estimate string) (string, error) {
	key, err := sourceKey(src)
	if err != nil {
		return "", fmt.Errorf("binaries: reading the source of %s: %w", name, err)
	}
	r := Recipe{Name: name, Version: key, Module: "(embedded)", Commands: []Command{{Package: ".", Binary: name}}, Estimate: estimate}
	bin := c.Path(r, name)
	if c.Built(r) {
		return bin, nil
	}
	if err := os.MkdirAll(c.Root, 0o755); err != nil {
		return "", err
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	if c.Built(r) {
		return bin, nil
	}
	dir := filepath.Join(c.Root, "src", r.Key())
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	err = fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		if base := filepath.Base(target); base == "_go.mod" || base == "_go.sum" {
			target = filepath.Join(filepath.Dir(target), strings.TrimPrefix(base, "_"))
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(c.BinDir(r), 0o755); err != nil {
		return "", err
	}
	c.logf("building %s (first run only; %s)", name, estimate)
	start := time.Now()
	tmp := bin + ".tmp"
	if _, err := c.goCmd(ctx, r, dir, "build "+name, "build", "-mod=readonly", "-trimpath", "-o", tmp, "."); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	c.recordBuildTime(r, "go build "+name, time.Since(start))
	return bin, nil
}

// sourceKey is a short digest of every file's path and content.
func sourceKey(src fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}
