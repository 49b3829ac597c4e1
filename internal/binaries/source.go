package binaries

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// EnsureSource builds a program of Rehearse's own whose whole module is
// src (see Recipe.Source), cached under a digest of the source, so that a
// changed program is built again and an unchanged one never, and returns
// the binary's path.
func (c *Cache) EnsureSource(ctx context.Context, name string, src fs.FS, estimate string) (string, error) {
	key, err := sourceKey(src)
	if err != nil {
		return "", fmt.Errorf("binaries: reading the source of %s: %w", name, err)
	}
	r := Recipe{Name: name, Version: key, Source: src, Commands: []Command{{Package: ".", Binary: name}}, Estimate: estimate}
	if _, err := c.Ensure(ctx, r); err != nil {
		return "", err
	}
	return c.Path(r, name), nil
}

// writeSource writes a Source module into dir, afresh, with _go.mod and
// _go.sum under their real names.
func writeSource(src fs.FS, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.CopyFS(dir, src); err != nil {
		return err
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := os.Rename(filepath.Join(dir, "_"+f), filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
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
