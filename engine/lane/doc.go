// Package lane runs what a run's scenarios share, one after another, on
// one machine: a Kubernetes cluster (kwok, kind or an existing one), the
// real Argo CD and Argo Rollouts on it, the image registry its nodes pull
// from (with an offline vulnerability scanner), the stand-in table for
// images nobody can pull here, and the destination clusters Applications
// name. A run of several lanes (NewLanes) plays that many scenarios at
// once; lanes share only what belongs to the host: pod loopback addresses
// and the images built from fixtures or users' folders.
//
// A lane starts on first use, so a run that stops early (an unknown step,
// a malformed feature file) costs nothing, and Close tears down whatever
// was started, a start still under way included.
//
// The package knows nothing of Gherkin: the steps package plays scenarios
// on lanes, and a Go test can use one directly:
//
//	l, err := lane.New(lane.Options{TimeScale: 60})
//	...
//	defer l.Close(context.Background())
//	if err := l.Start(ctx); err != nil { ... }
//	app, err := l.Engine().Application(ctx, "guestbook")
package lane
