package binaries

import "fmt"

// BuildError carries the output of the go command that failed, so the user
// sees the compiler's words, not only an exit status.
type BuildError struct {
	Recipe string
	Step   string // "download", "tidy", "build kube-apiserver", ...
	Output string
	Err    error
}

func (e *BuildError) Error() string {
	out := e.Output
	if len(out) > 4000 {
		out = "..." + out[len(out)-4000:]
	}
	return fmt.Sprintf("building %s: %s: %v\n%s", e.Recipe, e.Step, e.Err, out)
}

func (e *BuildError) Unwrap() error { return e.Err }
