package podruntime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MountsEnv is the environment variable that gives Rehearse's shell the
// container's volume mounts: a JSON object of mount path to the host
// directory or file behind it.
const MountsEnv = "REHEARSE_MOUNTS"

// mounts writes out the volumes the container mounts that Rehearse can
// give it (configMap, secret, emptyDir, and projected configMaps and
// secrets) under the pod's directory, and returns mount path -> host path.
// A ConfigMap or Secret that is missing, and not optional, is the error,
// as the kubelet's FailedMount: the container does not start. Other kinds
// of volume (hostPath, persistentVolumeClaim, downwardAPI...) are not
// mounted; the container's paths under them resolve in its image.
func (w *worker) mounts(ctx context.Context, c *container) (map[string]string, error) {
	if len(c.spec.VolumeMounts) == 0 {
		return nil, nil
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range w.pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	out := map[string]string{}
	for _, m := range c.spec.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume mount %s: the pod has no volume %q", m.MountPath, m.Name)
		}
		dir := filepath.Join(w.r.opts.Dir, "volumes", string(w.pod.UID), v.Name)
		mounted, err := w.setUpVolume(ctx, v, dir)
		if err != nil {
			return nil, fmt.Errorf("MountVolume.SetUp failed for volume %q: %w", v.Name, err)
		}
		if !mounted {
			continue
		}
		host := dir
		if m.SubPath != "" {
			if !filepath.IsLocal(m.SubPath) {
				return nil, fmt.Errorf("volume mount %s: subPath %q must stay inside the volume", m.MountPath, m.SubPath)
			}
			host = filepath.Join(dir, m.SubPath)
		}
		out[filepath.Clean(m.MountPath)] = host
	}
	return out, nil
}

// setUpVolume writes the volume once for the pod, as the kubelet sets a
// pod's volumes up before its containers start: containers of one pod
// starting side by side, or a container restarting, find it as it was
// and never half-written. A volume that failed (its ConfigMap missing) is
// tried again at the next start.
func (w *worker) setUpVolume(ctx context.Context, v corev1.Volume, dir string) (bool, error) {
	w.volumesMu.Lock()
	defer w.volumesMu.Unlock()
	if mounted, ok := w.volumes[v.Name]; ok {
		return mounted, nil
	}
	mounted, err := w.writeVolume(ctx, v, dir)
	if err != nil {
		return false, err
	}
	if w.volumes == nil {
		w.volumes = map[string]bool{}
	}
	w.volumes[v.Name] = mounted
	return mounted, nil
}

// writeVolume makes the volume's content in dir; false for a kind of
// volume Rehearse does not mount.
func (w *worker) writeVolume(ctx context.Context, v corev1.Volume, dir string) (bool, error) {
	switch {
	case v.EmptyDir != nil:
		// Kept across the container's restarts, as an emptyDir is.
		return true, os.MkdirAll(dir, 0o777)
	case v.ConfigMap != nil:
		return true, w.writeProjection(ctx, dir, []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: v.ConfigMap.LocalObjectReference, Items: v.ConfigMap.Items, Optional: v.ConfigMap.Optional}}},
			v.ConfigMap.DefaultMode)
	case v.Secret != nil:
		return true, w.writeProjection(ctx, dir, []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: v.Secret.SecretName}, Items: v.Secret.Items, Optional: v.Secret.Optional}}},
			v.Secret.DefaultMode)
	case v.Projected != nil:
		return true, w.writeProjection(ctx, dir, v.Projected.Sources, v.Projected.DefaultMode)
	}
	return false, nil
}

// writeProjection writes the keys of ConfigMaps and Secrets as files into
// dir afresh (all keys, or the items' paths), with the mode asked.
func (w *worker) writeProjection(ctx context.Context, dir string, sources []corev1.VolumeProjection, defaultMode *int32) error {
	files := map[string][]byte{}
	modes := map[string]os.FileMode{}
	add := func(data map[string][]byte, items []corev1.KeyToPath, what string) error {
		if len(items) == 0 {
			for k, v := range data {
				files[k] = v
			}
			return nil
		}
		for _, it := range items {
			v, ok := data[it.Key]
			if !ok {
				return fmt.Errorf("%s has no key %q", what, it.Key)
			}
			if !filepath.IsLocal(it.Path) {
				return fmt.Errorf("%s: item path %q must stay inside the volume", what, it.Path)
			}
			files[it.Path] = v
			if it.Mode != nil {
				modes[it.Path] = os.FileMode(*it.Mode)
			}
		}
		return nil
	}
	core := w.r.cs.CoreV1()
	for _, s := range sources {
		switch {
		case s.ConfigMap != nil:
			cm, err := core.ConfigMaps(w.pod.Namespace).Get(ctx, s.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				if s.ConfigMap.Optional != nil && *s.ConfigMap.Optional {
					continue
				}
				return fmt.Errorf("configmap %q not found", s.ConfigMap.Name)
			}
			data := map[string][]byte{}
			for k, v := range cm.Data {
				data[k] = []byte(v)
			}
			for k, v := range cm.BinaryData {
				data[k] = v
			}
			if err := add(data, s.ConfigMap.Items, fmt.Sprintf("configmap %q", s.ConfigMap.Name)); err != nil {
				return err
			}
		case s.Secret != nil:
			sec, err := core.Secrets(w.pod.Namespace).Get(ctx, s.Secret.Name, metav1.GetOptions{})
			if err != nil {
				if s.Secret.Optional != nil && *s.Secret.Optional {
					continue
				}
				return fmt.Errorf("secret %q not found", s.Secret.Name)
			}
			if err := add(sec.Data, s.Secret.Items, fmt.Sprintf("secret %q", s.Secret.Name)); err != nil {
				return err
			}
		}
	}
	mode := os.FileMode(0o644)
	if defaultMode != nil {
		mode = os.FileMode(*defaultMode)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for p, data := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		m, ok := modes[p]
		if !ok {
			m = mode
		}
		if err := os.WriteFile(full, data, m.Perm()); err != nil {
			return err
		}
		if err := os.Chmod(full, m.Perm()); err != nil { // the umask must not narrow it
			return err
		}
	}
	return nil
}

// mountedPath maps a container path to the host path behind the longest
// mount holding it, if any. rehearse-container's mounted is its twin, for
// the same reason as shellScript's.
func mountedPath(mounts map[string]string, p string) (string, bool) {
	best := ""
	for m := range mounts {
		if (p == m || strings.HasPrefix(p, m+"/") || m == "/") && len(m) > len(best) {
			best = m
		}
	}
	if best == "" {
		return "", false
	}
	return filepath.Join(mounts[best], strings.TrimPrefix(p, best)), true
}

// encodeMounts is MountsEnv's value.
func encodeMounts(mounts map[string]string) string {
	b, _ := json.Marshal(mounts)
	return string(b)
}
