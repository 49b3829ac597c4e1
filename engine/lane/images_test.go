package lane

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildOnceBuildsAKeyOnceForEveryCaller(t *testing.T) {
	e := &Lane{images: &imageCache{built: map[string]prebuiltImage{}}}
	var builds atomic.Int32
	release := make(chan struct{})
	build := func(context.Context) (v1.Image, string, error) {
		builds.Add(1)
		<-release
		return empty.Image, "ref:v1", nil
	}
	var wg sync.WaitGroup
	refs := make([]string, 5)
	for i := range refs {
		wg.Go(func() {
			_, ref, err := e.buildOnce(t.Context(), "k", "k", build)
			assert.NoError(t, err)
			refs[i] = ref
		})
	}
	time.Sleep(50 * time.Millisecond) // every caller waiting on the one build
	close(release)
	wg.Wait()
	assert.Equal(t, int32(1), builds.Load())
	assert.Equal(t, []string{"ref:v1", "ref:v1", "ref:v1", "ref:v1", "ref:v1"}, refs)

	_, _, err := e.buildOnce(t.Context(), "k", "k", build)
	require.NoError(t, err)
	assert.Equal(t, int32(1), builds.Load(), "a built key is kept for the run")
}

func TestBuildOnceForgetsAFailureAndAWaiterTriesAgain(t *testing.T) {
	e := &Lane{images: &imageCache{built: map[string]prebuiltImage{}}}
	var builds atomic.Int32
	started := make(chan struct{})
	release := make(chan struct{})
	failing := func(context.Context) (v1.Image, string, error) {
		if builds.Add(1) == 1 {
			close(started)
			<-release
			return nil, "", errors.New("compile error")
		}
		return empty.Image, "ref:v2", nil
	}
	var first error
	done := make(chan struct{})
	go func() {
		_, _, first = e.buildOnce(t.Context(), "k", "k", failing)
		close(done)
	}()
	<-started
	waiter := make(chan string)
	go func() {
		_, ref, err := e.buildOnce(t.Context(), "k", "k", failing)
		assert.NoError(t, err)
		waiter <- ref
	}()
	time.Sleep(50 * time.Millisecond)
	close(release)
	<-done
	assert.EqualError(t, first, "compile error", "the caller whose build failed reports it")
	assert.Equal(t, "ref:v2", <-waiter, "the waiter built again with its own context")
	assert.Equal(t, int32(2), builds.Load())

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := e.buildOnce(ctx, "other", "the build of other", func(ctx context.Context) (v1.Image, string, error) { return nil, "", ctx.Err() })
	assert.ErrorIs(t, err, context.Canceled)
}
