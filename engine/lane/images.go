package lane

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing/fstest"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rehearse/rehearse/fixtures"
	"github.com/rehearse/rehearse/fixtures/ci"
)

// FixtureImage is an image built from one of Rehearse's fixtures: its
// source at a version, with an optional behaviour (behaviour.json).
type FixtureImage struct {
	Fixture, Version, Behaviour string
}

// prebuild builds a fixture released as version (with behaviour.json
// replaced unless behaviour is empty) once per run.
func (l *Lane) BuildFixture(ctx context.Context, fixture, version, behaviour string) (v1.Image, string, error) {
	return l.buildOnce(ctx, fixture+"@"+version+"\x00"+behaviour, fmt.Sprintf("the %s fixture's build of %s", fixture, version),
		func(ctx context.Context) (v1.Image, string, error) {
			return l.buildFixture(ctx, fixture, version, behaviour)
		})
}

// buildFolder builds a user's Go service folder as version once per run
// (the folder's content as it is when first asked).
func (l *Lane) BuildFolder(ctx context.Context, dir, version string) (v1.Image, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	img, _, err := l.buildOnce(ctx, "folder:"+abs+"@"+version, "the build of "+dir,
		func(ctx context.Context) (v1.Image, string, error) {
			start := time.Now()
			img, err := ci.BuildGoFolder(ctx, abs, version)
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

func (l *Lane) buildFixture(ctx context.Context, fixture, version, behaviour string) (v1.Image, string, error) {
	repo, err := fixtures.Repo(fixture)
	if err != nil {
		return nil, "", err
	}
	content := fstest.MapFS{"VERSION": {Data: []byte(version + "\n"), Mode: 0o644}}
	if behaviour != "" {
		content["behaviour.json"] = &fstest.MapFile{Data: []byte(behaviour + "\n"), Mode: 0o644}
	}
	if err := fs.WalkDir(repo, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || content[p] != nil {
			return err
		}
		data, err := fs.ReadFile(repo, p)
		content[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		return err
	}); err != nil {
		return nil, "", err
	}
	start := time.Now()
	img, ref, _, err := ci.BuildFromSource(ctx, content)
	if err != nil {
		return nil, "", fmt.Errorf("building the %s fixture: %w", fixture, err)
	}
	l.images.logf("built %s from the %s fixture in %s", ref, fixture, time.Since(start).Round(time.Millisecond))
	return img, ref, nil
}

// warmImages builds the run's fixture images one after another while the
// first scenarios start their stacks, so that the steps that push them
// mostly find them built. A build that fails here is left for the step to
// repeat and report; warm-up stops when ctx ends.
func (l *Lane) WarmImages(ctx context.Context, images []FixtureImage) {
	start := time.Now()
	built := 0
	for _, r := range images {
		if ctx.Err() != nil {
			return
		}
		if _, _, err := l.BuildFixture(ctx, r.Fixture, r.Version, r.Behaviour); err == nil {
			built++
		}
	}
	if len(images) > 0 {
		l.images.logf("warm-up: %d of %d fixture images ready %s after the run began", built, len(images), time.Since(start).Round(time.Millisecond))
	}
}
