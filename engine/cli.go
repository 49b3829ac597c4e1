package engine

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// CLIError carries the argocd CLI's own output, which is what an operator
// would read (for example "rollback cannot be initiated when auto-sync is
// enabled").
type CLIError struct {
	Args   []string
	Output string
	Err    error
}

func (e *CLIError) Error() string {
	return fmt.Sprintf("argocd %s: %v: %s", strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Output))
}

func (e *CLIError) Unwrap() error { return e.Err }

// CLIHandle is everything needed to run the argocd CLI against a running
// engine, from this process or another one (rehearse app ...).
type CLIHandle struct {
	Binary string   `json:"binary"`
	Config string   `json:"config"` // CLI config holding the admin session
	Server string   `json:"server"`
	Env    []string `json:"env"`
}

// CLIHandle describes this engine's CLI.
func (e *Engine) CLIHandle() CLIHandle {
	return CLIHandle{Binary: e.argocd, Config: filepath.Join(e.dir, "home", "argocd-cli-config"), Server: e.serverAddr,
		Env: append(append([]string{}, e.env...), "ARGOCD_BINARY_NAME=argocd")}
}

// CLI runs the real argocd CLI against this engine's argocd-server, e.g.
// CLI(ctx, "app", "get", "q-sign"), and returns its combined output.
func (e *Engine) CLI(ctx context.Context, args ...string) (string, error) {
	return e.CLIHandle().Run(ctx, args...)
}

// Run runs one argocd command (at most two minutes).
func (h CLIHandle) Run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	full := append([]string{"--config", h.Config}, args...)
	if len(args) == 0 || args[0] != "login" {
		full = append(full, "--server", h.Server, "--plaintext")
	}
	cmd := exec.CommandContext(ctx, h.Binary, full...)
	cmd.Env = h.Env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), &CLIError{Args: args, Output: out.String(), Err: err}
	}
	return out.String(), nil
}
