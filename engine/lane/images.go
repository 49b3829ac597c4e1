package lane

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rehearse/rehearse/fixtures/ci"
)

// WarmImage is an image the run's scenarios will build from a folder
// (Lane.BuildFolder's arguments), for WarmImages.
type WarmImage struct {
	Dir, Version string
	Replaced     map[string][]byte
}

// buildKey names one folder build: the folder's absolute path, the
// version and the replaced files, so that equal builds share one key.
func buildKey(dir, version string, replaced map[string][]byte) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s@%s", abs, version)
	for _, p := range slices.Sorted(maps.Keys(replaced)) {
		fmt.Fprintf(&b, "\x00%s\x00%d\x00%s", p, len(replaced[p]), replaced[p])
	}
	return b.String(), nil
}

// BuildFolder builds a user's folder released as version, with the
// replaced files (ci.BuildFolder), once per run: the folder's content as
// it is when first asked.
func (l *Lane) BuildFolder(ctx context.Context, dir, version string, replaced map[string][]byte) (v1.Image, error) {
	key, err := buildKey(dir, version, replaced)
	if err != nil {
		return nil, err
	}
	img, _, err := l.buildOnce(ctx, key, "the build of "+dir+" as "+version,
		func(ctx context.Context) (v1.Image, string, error) {
			start := time.Now()
			img, err := ci.BuildFolder(ctx, dir, version, replaced)
			if err == nil {
				l.images.logf("built %s as %s in %s", dir, version, time.Since(start).Round(time.Millisecond))
			}
			return img, "", err
		})
	return img, err
}

// buildOnce runs build once per key for the whole run; callers asking for
// an image being built wait for that build. A failed build is not kept: a
// caller that shared another's failure tries once more with its own
// context, and reports its own error.
func (l *Lane) buildOnce(ctx context.Context, key, what string, build func(context.Context) (v1.Image, string, error)) (v1.Image, string, error) {
	for attempt := 0; ; attempt++ {
		if b, ok := l.images.lookup(key); ok {
			return b.image, b.ref, nil
		}
		ran := false // this caller's build ran, not another's it shared
		ch := l.images.building.DoChan(key, func() (any, error) {
			ran = true
			if b, ok := l.images.lookup(key); ok {
				return b, nil // built between the lookup and this call
			}
			img, ref, err := build(ctx)
			if err != nil {
				return nil, err
			}
			b := prebuiltImage{image: img, ref: ref}
			l.images.mu.Lock()
			l.images.built[key] = b
			l.images.mu.Unlock()
			return b, nil
		})
		select {
		case r := <-ch:
			if r.Err == nil {
				b := r.Val.(prebuiltImage)
				return b.image, b.ref, nil
			}
			if ran || attempt > 0 || ctx.Err() != nil {
				return nil, "", r.Err
			}
		case <-ctx.Done():
			return nil, "", fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// WarmImages builds the run's folder images one after another while the
// first scenarios start their stacks, so that the steps that push them
// mostly find them built. A build that fails here is left for the step to
// repeat and report; warm-up stops when ctx ends.
func (l *Lane) WarmImages(ctx context.Context, images []WarmImage) {
	start := time.Now()
	built := 0
	seen := map[string]bool{}
	for _, r := range images {
		if ctx.Err() != nil {
			return
		}
		key, err := buildKey(r.Dir, r.Version, r.Replaced)
		if err != nil || seen[key] {
			continue
		}
		seen[key] = true
		if _, err := l.BuildFolder(ctx, r.Dir, r.Version, r.Replaced); err == nil {
			built++
		}
	}
	if len(seen) > 0 {
		l.images.logf("warm-up: %d of %d folder images ready %s after the run began", built, len(seen), time.Since(start).Round(time.Millisecond))
	}
}
