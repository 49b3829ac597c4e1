package steps

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/rehearse/rehearse/engine"
	"github.com/rehearse/rehearse/engine/lane"
)

// qsignProject is the registry project the q-sign example's images are
// in (the seed's Harbor project).
const qsignProject = "qsign-prod"

// Explorer is a full environment kept running for a person: cluster, Argo
// CD, and a Git server hosting the q-sign example under the seed's URL.
type Explorer struct {
	env   *lane.Lane
	world *World
}

// StartExplorer brings the environment up (rehearse up) with the q-sign
// example's repositories from the folders in repos (q-sign, q-sign-app:
// fixtures/repos in this repository), and applies the given Application
// files.
func StartExplorer(ctx context.Context, opts lane.Options, repos string, applications ...string) (*Explorer, error) {
	repos, err := filepath.Abs(repos)
	if err != nil {
		return nil, err
	}
	env, err := lane.New(opts)
	if err != nil {
		return nil, err
	}
	w := newWorld(env, "rehearse up", "up")
	x := &Explorer{env: env, world: w}
	steps := []func() error{
		func() error { return env.Start(ctx) },
		func() error { return w.mapGitLab(ctx, seedGitLab) },
		func() error { return w.mapHarbor(ctx, seedHarbor) },
		func() error { return w.createProject(ctx, qsignProject) },
		func() error {
			return w.imageFromFolder(ctx, qsignProject+"/app:v1.0.0", filepath.Join(repos, "q-sign-app"))
		},
		func() error { return w.gitServerHostsFolder(ctx, "root/q-sign", filepath.Join(repos, "q-sign")) },
		func() error {
			return w.gitServerHostsFolder(ctx, "root/q-sign-app", filepath.Join(repos, "q-sign-app"))
		},
		func() error { return w.jenkinsBuilds(ctx, "root/q-sign-app", "main") },
		func() error { return w.argoCredentials(ctx, seedGitLab) },
		func() error { return w.webhookToArgo(ctx) },
	}
	for _, app := range applications {
		app := app
		steps = append(steps, func() error { return w.applyApplicationFile(ctx, app) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			x.Close()
			return nil, err
		}
	}
	return x, nil
}

const (
	seedGitLab = "http://192.168.0.11:7780/"
	seedHarbor = "192.168.0.11:30800"
)

// CLI is the handle rehearse app uses to run the argocd CLI.
func (x *Explorer) CLI() engine.CLIHandle { return x.env.Engine().CLIHandle() }

// Describe prints how to reach everything.
func (x *Explorer) Describe(out io.Writer) { describe(out, x.env, x.world) }

// describe prints how to reach a scenario's environment.
func describe(out io.Writer, env *lane.Lane, w *World) {
	e := env.Engine()
	if e == nil {
		fmt.Fprintln(out, "the environment did not start")
		return
	}
	fmt.Fprintf(out, "cluster      export KUBECONFIG=%s\n", env.Cluster().KubeconfigPath())
	fmt.Fprintf(out, "Argo CD      %s (argocd-server, plaintext), user admin, password %s, version %s\n", e.ServerAddr(), e.AdminPassword(), e.Version())
	fmt.Fprintf(out, "argocd CLI   rehearse app get q-sign | history | sync | rollback ...\n")
	if w.git != nil {
		fmt.Fprintf(out, "Git server   %s  (%s is mapped here)\n", w.git.URL(), seedGitLab)
		for _, u := range []string{adminUser, developerUser} {
			fmt.Fprintf(out, "             user %s, password %s\n", u, w.passwords[u])
		}
		if w.ci != nil {
			fmt.Fprintf(out, "             every push to root/q-sign-app's main runs the Jenkins pipeline\n")
		}
	}
	names, destinations := env.DestinationClusters()
	for _, name := range names {
		fmt.Fprintf(out, "cluster %-4s export KUBECONFIG=%s\n", name, destinations[name].KubeconfigPath())
	}
	reg := env.Registry()
	fmt.Fprintf(out, "registry     %s  (%s is mapped here; crane --insecure), project %s\n", reg.Host(), seedHarbor, qsignProject)
	for _, u := range []string{lane.RegistryAdmin, lane.RegistryCI} {
		fmt.Fprintf(out, "             user %s, password %s\n", u, env.RegistryPassword(u))
	}
	fmt.Fprintf(out, "webhooks     pushes are posted to %s and to Jenkins\n", e.WebhookURL())
	fmt.Fprintf(out, "time scale   %vx\n", env.Scale().Factor())
}

// Close tears everything down.
func (x *Explorer) Close() {
	_ = x.world.cleanup(context.Background())
	_ = x.env.Close(context.Background())
}
