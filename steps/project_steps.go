package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/cucumber/godog"

	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/fixtures"
)

// projectSteps bring a user's own project in: Git content from their
// folders, any Git host mapped, and images stood in when declared.
func (w *World) projectSteps() []StepDef {
	return []StepDef{
		{Pattern: `^the Git server hosts "([^"]*)" from the folder "([^"]*)"$`,
			Doc: "Creates repository owner/name on the scenario's Git server with the folder's files (relative to the feature file, " +
				"else to the directory Rehearse runs in; .git left out) as one commit on main.",
			Example: `Given the Git server hosts "platform/gitops" from the folder "gitops"`,
			Fn:      w.gitServerHostsFolder},
		{Pattern: `^"([^"]*)" is served by the local Git server$`,
			Doc: "Maps a Git host (scheme, host and optional path prefix) to the scenario's Git server: repository URLs under it, " +
				"in Applications and for Argo CD, reach the local server instead. Unmapped non-loopback URLs are refused.",
			Example: `Given "https://git.example.com" is served by the local Git server`,
			Fn:      w.mapGitHost},
		{Pattern: `^images matching "([^"]*)" are stood in$`,
			Doc: "Containers whose image matches (\"*\" matches anything, \"/\" included; \"nginx\" is also docker.io/library/nginx) run " +
				"Rehearse's stand-in instead of a pulled image: HTTP 200 on every container and probe port, /metrics, probes pass, " +
				"sh -c commands run in Rehearse's shell. The pod's events say \"stand-in for IMAGE\". Other images must come from a registry.",
			Example: `Given images matching "docker.io/*" are stood in`,
			Fn:      w.standIn},
		{Pattern: `^the stand-ins for "([^"]*)" behave:$`,
			Doc: "Sets how stand-ins of matching images (a pattern as above; a tag, such as \"web:v2\", narrows it) behave, in YAML or JSON: " +
				"notReady, errorRate (0 to 1, spread evenly), latency, exitAfter and exitCode. Later settings win.",
			Example: `Given the stand-ins for "ghcr.io/acme/web:v2" behave:`,
			Fn:      w.standInBehaviour},
	}
}

func (w *World) gitServerHostsFolder(ctx context.Context, repo, folder string) error {
	dir, err := fixtures.Locate(folder, w.featureDir, w.projectDir)
	if err != nil {
		return fmt.Errorf("the folder for %s: %w", repo, err)
	}
	content, err := fixtures.Folder(dir)
	if err != nil {
		return fmt.Errorf("the folder for %s: %w", repo, err)
	}
	s, err := w.gitServer()
	if err != nil {
		return err
	}
	sha, err := s.CreateRepo(repo, "main", content, adminUser, "Initial import of "+folder)
	if err != nil {
		return err
	}
	w.commits["initial"] = sha
	w.commits["initial "+repo] = sha
	return nil
}

func (w *World) mapGitHost(ctx context.Context, prefix string) error {
	if !strings.HasPrefix(prefix, "http://") && !strings.HasPrefix(prefix, "https://") {
		return fmt.Errorf("%q: give the Git host as a URL, such as \"https://git.example.com\"", prefix)
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return w.mapGitLab(ctx, prefix)
}

func (w *World) standIn(ctx context.Context, pattern string) error {
	w.undoStandIns()
	return w.env.standIns.Declare(pattern)
}

func (w *World) standInBehaviour(ctx context.Context, pattern string, doc *godog.DocString) error {
	b, err := podruntime.ParseStandInBehaviour([]byte(doc.Content))
	if err != nil {
		return err
	}
	w.undoStandIns()
	return w.env.standIns.SetBehaviour(pattern, b)
}

// undoStandIns forgets the scenario's stand-ins when it ends: the next
// scenario on the lane declares its own.
func (w *World) undoStandIns() {
	if w.standInsSet {
		return
	}
	w.standInsSet = true
	w.undo = append(w.undo, func(context.Context) error { w.env.standIns.Reset(); return nil })
}
