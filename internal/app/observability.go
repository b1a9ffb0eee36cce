package app

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/dezky/platform/internal/logging"
	"github.com/dezky/platform/plugins/sdk"
)

// pluginDialOptions returns the gRPC options of every plugin connection:
// the request id travels as metadata (sdk.RequestIDMetadataKey), so the
// plugin's log lines about a call name the request it serves.
func pluginDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(sendRequestID)}
}

// sendRequestID adds the request id of ctx, when it has one, to the
// outgoing metadata.
func sendRequestID(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if id := logging.RequestID(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, sdk.RequestIDMetadataKey, id)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
