package rehearse_test

import (
	"context"
	"fmt"

	"github.com/rehearse/rehearse"
)

// A project's go test runs its features with a step of its own. (Compiled
// here, not run: a run starts a cluster; TestRunWithAUserStep runs one.)
func ExampleRun() {
	openOrders := func(ctx context.Context, s *rehearse.Scenario, want int) error {
		out, err := s.ArgoCD(ctx, "app", "list", "-o", "name")
		if err != nil {
			return err
		}
		s.Note("applications: %s", out)
		return nil
	}
	summary, err := rehearse.Run(context.Background(),
		rehearse.WithFeatures("features"),
		rehearse.WithStep(`^the shop has (\d+) open orders$`, "Counts the shop's open orders.", openOrders))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d passed, %d failed\n", summary.Passed, summary.Failed)
}
