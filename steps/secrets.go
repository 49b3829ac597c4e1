package steps

import (
	"github.com/rehearse/rehearse/engine/lane"
)

// credentials are the scenario's credentials: its Git users' passwords and the
// CI webhook token.
func (w *World) credentials() []lane.Secret {
	var out []lane.Secret
	for u, p := range w.passwords {
		out = append(out, lane.Secret{Name: "Git password of " + u + " (" + w.scenario + ")", Value: p})
	}
	if w.ci != nil {
		out = append(out, lane.Secret{Name: "CI webhook token (" + w.scenario + ")", Value: "hook-" + w.id})
	}
	return out
}
