package reports

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSeedStrategies(t *testing.T) {
	b, err := os.ReadFile("../features/seed/gitops-flows.md")
	require.NoError(t, err)
	got := ParseSeedStrategies(b)
	require.Len(t, got, 4)
	require.Equal(t, SeedStrategy{Strategy: "Blue-Green", Downtime: "none", ResourceUse: "high (2x)", RollbackSpeed: "fast",
		Risk: "low", UseCase: "critical deployments"}, got[1])
	require.Equal(t, "Recreate", got[3].Strategy)
	require.Equal(t, "yes", got[3].Downtime)
	require.Empty(t, ParseSeedStrategies([]byte("no table here\n| a | b |\n")))
}
