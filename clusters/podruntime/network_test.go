package podruntime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two pools stand for two processes (a run and go test's packages side by
// side): the abstract socket that claims an address is machine-wide, so
// they never hand out the same one.
func TestAddressPoolsNeverShareAnAddress(t *testing.T) {
	var a, b AddressPool
	ipA, localA, err := a.take()
	require.NoError(t, err)
	ipB, localB, err := b.take()
	require.NoError(t, err)
	assert.NotEqual(t, ipA, ipB)
	assert.NotEqual(t, localA, localB)
	assert.Equal(t, "127.77."+ipA[len("10.245."):], localA)

	// Released by a, the address can be claimed by b again.
	a.release(ipA)
	seen := map[string]bool{}
	for range 3 {
		ip, _, err := b.take()
		require.NoError(t, err)
		seen[ip] = true
	}
	assert.False(t, seen[ipB], "b's own address is not handed out twice")
	for ip := range seen {
		b.release(ip)
	}
	b.release(ipB)
}
