// Package rehearse runs Rehearse's Gherkin scenarios from Go: the features
// of a project, with the built-in steps and the user's own, on ephemeral
// clusters with the real Argo CD, and writes the run's report.
//
//	summary, err := rehearse.Run(ctx,
//		rehearse.WithFeatures("features"),
//		rehearse.WithStep(`^the shop has (\d+) open orders$`, "...", openOrders))
//
// A user's step is a function of the form
//
//	func(ctx context.Context, s *rehearse.Scenario, arg1 T1, ...) error
//
// whose Scenario gives the cluster, Argo CD, the Git server and the
// registry of the scenario it runs in. The same runs are what `rehearse run`
// does; `rehearse steps` lists the built-in steps.
package rehearse
