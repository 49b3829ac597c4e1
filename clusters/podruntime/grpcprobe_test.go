package podruntime

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// A gRPC probe asks the standard health service, as the kubelet does: a
// server that only accepts connections, or says NOT_SERVING, fails it.
func TestGRPCHealthProbeNeedsServing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	var d net.Dialer
	probe := func(service string) (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return grpcHealth(ctx, d.DialContext, ln.Addr().String(), service)
	}

	ok, msg := probe("")
	assert.True(t, ok, msg)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	ok, msg = probe("")
	assert.False(t, ok)
	assert.Contains(t, msg, "status NOT_SERVING")

	hs.SetServingStatus("shop.Cart", healthpb.HealthCheckResponse_SERVING)
	ok, msg = probe("shop.Cart")
	assert.True(t, ok, msg)
	ok, msg = probe("shop.Orders")
	assert.False(t, ok)
	assert.Contains(t, msg, `service "shop.Orders"`)
	assert.Contains(t, msg, "NotFound")

	// A plain TCP listener accepts, and is no gRPC health server.
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer plain.Close()
	go func() {
		for {
			c, err := plain.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	ok, msg = grpcHealth(ctx, d.DialContext, plain.Addr().String(), "")
	assert.False(t, ok, "accepting a connection is not serving")
	assert.Contains(t, msg, "gRPC probe of "+plain.Addr().String())
}
