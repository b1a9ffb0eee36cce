package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/dezky/platform/internal/logging"
	"github.com/dezky/platform/internal/metrics"
	"github.com/dezky/platform/internal/telemetry/otlpenv"
	"github.com/dezky/platform/plugins/sdk"
)

// pluginDialOptions returns the gRPC options of the connection to a
// plugin: every call is a client span whose trace context travels to the
// plugin (W3C traceparent in the metadata), the request id travels as
// metadata too (sdk.RequestIDMetadataKey), so the plugin's log lines
// about a call name the request it serves, and every call is counted and
// timed.
func pluginDialOptions(m *metrics.Metrics) func(plugin string) []grpc.DialOption {
	return func(plugin string) []grpc.DialOption {
		return []grpc.DialOption{
			grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithPropagators(otlpenv.Propagator()))),
			grpc.WithChainUnaryInterceptor(sendRequestID, m.PluginInterceptor(plugin)),
		}
	}
}

// sendRequestID adds the request id of ctx, when it has one, to the
// outgoing metadata.
func sendRequestID(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if id := logging.RequestID(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, sdk.RequestIDMetadataKey, id)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// serveMetrics starts the metrics listener when cfg.MetricsAddr is set. It
// is the last component started, so the first stopped.
func (s *Server) serveMetrics(cfg *ServeConfig) error {
	if cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Log.Error("metrics listener stopped", "err", err)
		}
	}()
	s.MetricsURL = "http://" + ln.Addr().String()
	s.parts.add("metrics", srv.Shutdown)
	cfg.Log.Info("serving metrics", "url", s.MetricsURL+"/metrics")
	return nil
}

// traceHTTP makes every API request a server span, continuing the
// caller's W3C trace context when it sends one. The probes are not
// traced.
func traceHTTP(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "http.server",
		otelhttp.WithPropagators(otlpenv.Propagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }),
		otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/healthz" && r.URL.Path != "/readyz" }))
}
