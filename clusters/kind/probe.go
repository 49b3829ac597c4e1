package kind

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/rehearse/rehearse/internal/images"
)

// ProbeCheck is one thing kind asks of the container engine, tried for real.
type ProbeCheck struct {
	// Name says what was tried ("a privileged container").
	Name string
	// Why says where kind needs it, so a refusal can be traced to kind's code.
	Why string
	// Args are the docker run flags tried.
	Args []string
	// OK is true when the container ran and exited 0.
	OK bool
	// Output is what the engine and the container printed, verbatim.
	Output string
}

// ProbeReport is what Probe found.
type ProbeReport struct {
	// ServerVersion and CgroupVersion are the engine's own words (docker info).
	ServerVersion, CgroupVersion string
	Checks                       []ProbeCheck
}

// Refused returns the checks the engine refused.
func (r ProbeReport) Refused() []ProbeCheck {
	var out []ProbeCheck
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Err is nil when the engine ran everything kind needs, else an error
// quoting each refusal exactly as the engine worded it.
func (r ProbeReport) Err() error {
	refused := r.Refused()
	if len(refused) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the container engine (docker %s, cgroup v%s) refuses what kind needs:", r.ServerVersion, r.CgroupVersion)
	for _, c := range refused {
		fmt.Fprintf(&b, "\n  - %s (docker run %s; %s): %s", c.Name, strings.Join(c.Args, " "), c.Why, firstLine(c.Output))
	}
	return fmt.Errorf("%s", b.String())
}

func firstLine(s string) string {
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "(no output)"
}

// nodeFlags are the docker run flags sigs.k8s.io/kind v0.33 gives every node
// container (pkg/cluster/internal/providers/docker/provision.go), less those
// that only name or label it.
var nodeFlags = []string{
	"--privileged",
	"--security-opt", "seccomp=unconfined",
	"--security-opt", "apparmor=unconfined",
	"--tmpfs", "/tmp", "--tmpfs", "/run",
	"--volume", "/var",
	"--volume", "/lib/modules:/lib/modules:ro",
	"--cgroupns=private",
}

// probeProgram runs in each probe container: it proves the container's
// process really started and prints what it was given, for the report.
const probeProgram = `package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	status, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "CapBnd:") || strings.HasPrefix(l, "CapEff:") {
			fmt.Println(l)
		}
	}
	cg, _ := os.ReadFile("/proc/self/cgroup")
	fmt.Print(string(cg))
}
`

// Probe tries, with a tiny image built here and removed afterwards, each
// thing kind's node containers need from the engine: the flags one at a time
// (so a refusal names its cause) and all of them together as kind passes
// them. It returns an error only when the probe itself could not run (no
// engine, no Go toolchain); what the engine refused is in the report.
func Probe(ctx context.Context) (ProbeReport, error) {
	var r ProbeReport
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}} {{.CgroupVersion}}").CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("probing the container engine: docker info: %s", reason(string(out), err))
	}
	fields := strings.Fields(string(out))
	if len(fields) == 2 {
		r.ServerVersion, r.CgroupVersion = fields[0], fields[1]
	}
	ref, cleanup, err := loadProbeImage(ctx)
	if err != nil {
		return r, fmt.Errorf("probing the container engine: %w", err)
	}
	defer cleanup()
	try := func(name, why string, args ...string) {
		cmd := exec.CommandContext(ctx, "docker", append(append([]string{"run", "--rm"}, args...), ref)...)
		out, err := cmd.CombinedOutput()
		r.Checks = append(r.Checks, ProbeCheck{Name: name, Why: why, Args: args, OK: err == nil, Output: strings.TrimSpace(string(out))})
	}
	try("a plain container", "the baseline: without it nothing else can be told")
	try("a private cgroup namespace", "kind gives each node --cgroupns=private so systemd and the kubelet see their own cgroup tree", "--cgroupns=private")
	try("kind's mounts", "kind's entrypoint and the kubelet expect a tmpfs /tmp and /run, a volume on /var and the host's modules", "--tmpfs", "/tmp", "--tmpfs", "/run", "--volume", "/var", "--volume", "/lib/modules:/lib/modules:ro")
	try("unconfined seccomp and AppArmor", "containerd and runc inside the node make syscalls the default profile refuses", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined")
	try("a privileged container", "kind runs every node with --privileged (provision.go) and every command in it with docker exec --privileged (node.go): running containers in a container needs it", "--privileged")
	try("a kind node's flags together", "exactly what kind v0.33 passes when it creates a node", nodeFlags...)
	if !r.Checks[0].OK {
		return r, fmt.Errorf("probing the container engine: even a plain container does not run: %s", firstLine(r.Checks[0].Output))
	}
	return r, nil
}

// loadProbeImage builds the probe program as a static binary, wraps it in a
// one-layer image and loads it with docker load (no registry is reachable).
func loadProbeImage(ctx context.Context) (ref string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "rehearse-kind-probe-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(dir)
	for file, text := range map[string]string{"go.mod": "module probe\n\ngo 1.22\n", "main.go": probeProgram} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			return "", nil, err
		}
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", "probe", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("building the probe program: %w: %s", err, out)
	}
	img, err := images.Build(images.Spec{Binary: filepath.Join(dir, "probe"), Entrypoint: "/probe"})
	if err != nil {
		return "", nil, fmt.Errorf("building the probe image: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", nil, err
	}
	ref = "rehearse.local/kind-probe:" + digest.Hex[:12]
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", nil, err
	}
	archive := filepath.Join(dir, "probe.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		return "", nil, fmt.Errorf("writing the probe image: %w", err)
	}
	if out, err := exec.CommandContext(ctx, "docker", "load", "--input", archive).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("docker load of the probe image: %s", reason(string(out), err))
	}
	cleanup = func() {
		// A fresh context: the probe's may be done, and the image must go.
		_ = exec.Command("docker", "image", "rm", "--force", ref).Run()
	}
	return ref, cleanup, nil
}
