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

// CLI runs the real argocd CLI against this engine's argocd-server, e.g.
// CLI(ctx, "app", "get", "q-sign"), and returns its combined output.
func (e *Engine) CLI(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	full := append([]string{"--config", filepath.Join(e.dir, "home", "argocd-cli-config")}, args...)
	if len(args) == 0 || args[0] != "login" {
		full = append(full, "--server", e.serverAddr, "--plaintext")
	}
	cmd := exec.CommandContext(ctx, e.argocd, full...)
	cmd.Env = append(append([]string{}, e.env...), "ARGOCD_BINARY_NAME=argocd")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), &CLIError{Args: args, Output: out.String(), Err: err}
	}
	return out.String(), nil
}
