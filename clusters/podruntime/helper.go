package podruntime

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/rehearse/rehearse/internal/binaries"
)

// helperSource is the rehearse-container program (./container): the
// stand-in for declared images and the shell for sh -c commands. Its module
// files are kept as _go.mod and _go.sum so that the directory stays a
// package of this module (built and tested with it).
//
//go:embed container/main.go container/shell.go container/standin.go container/http.go container/_go.mod container/_go.sum
var helperSource embed.FS

// HelperName is the program's file name.
const HelperName = "rehearse-container"

// BuildHelper returns the path of the rehearse-container program in the
// cache, building it first if this version of it is not there yet (about
// 25 s cold, from the module proxy or module cache; never again after).
func BuildHelper(ctx context.Context, cache *binaries.Cache) (string, error) {
	src, err := fs.Sub(helperSource, "container")
	if err != nil {
		return "", err
	}
	bin, err := cache.EnsureSource(ctx, HelperName, src, "about 25 seconds")
	if err != nil {
		return "", fmt.Errorf("building %s, Rehearse's stand-in and shell for containers: %w", HelperName, err)
	}
	return bin, nil
}
