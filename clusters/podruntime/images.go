package podruntime

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	corev1 "k8s.io/api/core/v1"

	"github.com/rehearse/rehearse/internal/loopback"
)

// image is a pulled and unpacked image.
type image struct {
	// ID is "<repository>@<digest>" as pulled (the mirror's address is
	// not shown: pods report the reference they asked for).
	ID     string
	Root   string
	Config v1.Config
	// StandIn is the pattern that declared the image stood in ("" for a
	// pulled image); Root is then the container's own empty directory.
	StandIn   string
	Behaviour StandInBehaviour
}

type imageStore struct {
	dir     string
	mirrors *loopback.Rewriter
	client  *http.Client

	mu       sync.Mutex
	unpacked map[string]*image
	locks    map[string]*sync.Mutex
}

func newImageStore(dir string, mirrors *loopback.Rewriter) *imageStore {
	var d loopback.Dialer
	return &imageStore{dir: dir, mirrors: mirrors, unpacked: map[string]*image{}, locks: map[string]*sync.Mutex{},
		client: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}}
}

// PullError is a failed pull, with the registry's own words.
type PullError struct {
	Image string
	Err   error
}

func (e *PullError) Error() string {
	return fmt.Sprintf("failed to pull image %q: %v", e.Image, e.Err)
}
func (e *PullError) Unwrap() error { return e.Err }

// UnmappedRegistryError is a pull of an image whose registry host is not
// mapped to a local registry: nothing was sent anywhere.
type UnmappedRegistryError struct {
	Registry string
	Err      error
}

func (e *UnmappedRegistryError) Error() string {
	return fmt.Sprintf("registry %s is not mapped to a local registry, so nothing was sent to it: %v", e.Registry, e.Err)
}
func (e *UnmappedRegistryError) Unwrap() error { return e.Err }

// notServed says whether a pull failed because no registry here serves the
// image: its host is not mapped, or the registry has no such repository or
// tag (404). An authentication failure or a registry that is down is not.
func notServed(err error) bool {
	var unmapped *UnmappedRegistryError
	if errors.As(err, &unmapped) {
		return true
	}
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

// mirror returns ref with its registry replaced by the mapped local one.
func (s *imageStore) mirror(ref name.Reference) (name.Reference, error) {
	reg := ref.Context().RegistryStr()
	to, err := s.mirrors.Rewrite("http://" + reg + "/")
	if err != nil {
		return nil, &UnmappedRegistryError{Registry: reg, Err: err}
	}
	u, err := url.Parse(to)
	if err != nil {
		return nil, err
	}
	repo := ref.Context().RepositoryStr()
	if p := strings.Trim(u.Path, "/"); p != "" {
		repo = p + "/" + repo
	}
	sep := ":"
	if _, ok := ref.(name.Digest); ok {
		sep = "@"
	}
	return name.ParseReference(u.Host+"/"+repo+sep+ref.Identifier(), name.Insecure)
}

func (s *imageStore) pull(ctx context.Context, raw string, secrets []*corev1.Secret, node map[string]Credential) (*image, error) {
	ref, err := name.ParseReference(raw)
	if err != nil {
		return nil, &PullError{raw, err}
	}
	local, err := s.mirror(ref)
	if err != nil {
		return nil, &PullError{raw, err}
	}
	auth := authFor(ref.Context().RegistryStr(), local.Context().RegistryStr(), secrets, node)
	img, err := remote.Image(local, remote.WithContext(ctx), remote.WithAuth(auth),
		remote.WithTransport(s.client.Transport), remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
	if err != nil {
		return nil, &PullError{raw, err}
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, &PullError{raw, err}
	}
	s.mu.Lock()
	lock, ok := s.locks[digest.String()]
	if !ok {
		lock = &sync.Mutex{}
		s.locks[digest.String()] = lock
	}
	s.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()
	s.mu.Lock()
	done := s.unpacked[digest.String()]
	s.mu.Unlock()
	id := ref.Context().Name() + "@" + digest.String()
	if done != nil {
		return &image{ID: id, Root: done.Root, Config: done.Config}, nil
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, &PullError{raw, err}
	}
	root := filepath.Join(s.dir, digest.Hex)
	if err := unpack(img, root); err != nil {
		os.RemoveAll(root)
		return nil, &PullError{raw, fmt.Errorf("unpacking: %w", err)}
	}
	u := &image{ID: id, Root: root, Config: cf.Config}
	s.mu.Lock()
	s.unpacked[digest.String()] = u
	s.mu.Unlock()
	return u, nil
}

// unpack writes the image's flattened filesystem under root.
func unpack(img v1.Image, root string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rel := filepath.Clean("/" + h.Name)
		target := filepath.Join(root, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777|0o200)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			f.Close()
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			// Only links that stay inside the image: an absolute target
			// would point into the host.
			if filepath.IsAbs(h.Linkname) || strings.HasPrefix(filepath.Clean(filepath.Join(filepath.Dir(rel), h.Linkname)), "..") {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, target); err != nil && !os.IsExist(err) {
				return err
			}
		}
	}
}

// authFor picks the credentials for an image from registry host (as the
// image names it; mirror is where it is really pulled from): the pod's
// imagePullSecrets first, then the node's own logins for either host, else
// anonymous.
func authFor(host, mirror string, secrets []*corev1.Secret, node map[string]Credential) authn.Authenticator {
	for _, s := range secrets {
		data := s.Data[corev1.DockerConfigJsonKey]
		var cfg struct {
			Auths map[string]struct {
				Username string `json:"username"`
				Password string `json:"password"`
				Auth     string `json:"auth"`
			} `json:"auths"`
		}
		if json.Unmarshal(data, &cfg) != nil {
			continue
		}
		for k, a := range cfg.Auths {
			if strings.TrimPrefix(strings.TrimPrefix(strings.TrimSuffix(k, "/"), "https://"), "http://") != host {
				continue
			}
			if a.Auth != "" {
				if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					if u, p, ok := strings.Cut(string(dec), ":"); ok {
						return &authn.Basic{Username: u, Password: p}
					}
				}
			}
			return &authn.Basic{Username: a.Username, Password: a.Password}
		}
	}
	for _, h := range []string{host, mirror} {
		if c, ok := node[h]; ok {
			return &authn.Basic{Username: c.Username, Password: c.Password}
		}
	}
	return authn.Anonymous
}
