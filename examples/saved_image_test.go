package examples

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"

	"github.com/rehearse/rehearse"
	"github.com/rehearse/rehearse/fixtures/ci"
)

// TestSavedImageProject rehearses a project whose images were built
// elsewhere and saved to files, as a team's own CI would hand them over:
// a `docker save` tarball and a gzip-compressed OCI archive, written here
// before the run (an image file is no source to keep in the repository).
// Its rehearse.yaml maps the hosts and names an argocd folder whose
// AppProject the Application uses.
func TestSavedImageProject(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and Argo CD; skipped in -short mode")
	}
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/saved-image")))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "images"), 0o755))
	ctx := context.Background()
	image := func(version string) v1.Image {
		img, err := ci.BuildGoFolder(ctx, filepath.Join(dir, "app"), version, nil)
		require.NoError(t, err)
		cfg, err := img.ConfigFile()
		require.NoError(t, err)
		cfg = cfg.DeepCopy()
		cfg.Config.Env = append(cfg.Config.Env, "APP_VERSION="+version)
		img, err = mutate.ConfigFile(img, cfg)
		require.NoError(t, err)
		return img
	}
	require.NoError(t, tarball.WriteToFile(filepath.Join(dir, "images", "hello-v1.tar"), name.MustParseReference("docker.io/team/hello:v1"), image("v1")))
	writeOCIArchive(t, image("v2"), "docker.io/team/hello:v2", filepath.Join(dir, "images", "hello-v2.tar.gz"))

	summary, err := rehearse.Run(ctx, rehearse.WithProjectDir(dir), rehearse.WithReportRoot(t.TempDir()), rehearse.WithFormat("progress"),
		rehearse.WithLanes(1), rehearse.WithTesting(t), rehearse.WithLogger(log.New(os.Stderr, "rehearse: ", log.Ltime)))
	require.NoError(t, err)
	t.Logf("saved-image: %d passed, %d failed", summary.Passed, summary.Failed)
	if summary.Failed > 0 || summary.Passed == 0 {
		t.Fail()
	}
}

// writeOCIArchive writes img as a gzip-compressed tar of an OCI image
// layout, named ref, as `podman save --format oci-archive | gzip` would.
func writeOCIArchive(t *testing.T, img v1.Image, ref, path string) {
	src := t.TempDir()
	lp, err := layout.Write(src, empty.Index)
	require.NoError(t, err)
	require.NoError(t, lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})))
	f, err := os.Create(path)
	require.NoError(t, err)
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: info.Size(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		_, err = io.Copy(tw, in)
		return err
	}))
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
}
