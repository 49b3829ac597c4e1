package podruntime

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// grpcHealth runs a gRPC probe as the kubelet does: the standard health
// service's Check, for service ("" is the server as a whole), without TLS.
// It passes only on SERVING; anything else, or no answer within ctx, says
// what was seen.
func grpcHealth(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), addr, service string) (bool, string) {
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return dial(ctx, "tcp", a) }))
	if err != nil {
		return false, fmt.Sprintf("gRPC probe of %s: %v", addr, err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return false, fmt.Sprintf("gRPC probe of %s (service %q): %v", addr, service, err)
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return false, fmt.Sprintf("gRPC probe of %s (service %q): status %s", addr, service, s)
	}
	return true, ""
}
