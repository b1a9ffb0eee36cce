package sdk

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/dezky/platform/internal/telemetry/otlpenv"
)

// HTTPTransport wraps base (http.DefaultTransport when nil) so that every
// upstream request a provider sends is a span in the trace of the host
// call it serves and carries that trace onward as a W3C traceparent
// header. Providers should build their upstream HTTP clients on it:
//
//	&http.Client{Transport: sdk.HTTPTransport(nil), Timeout: 30 * time.Second}
//
// Without tracing configured (see Serve) it only forwards the requests.
func HTTPTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base)
}

// setupTracing installs the plugin process's tracer provider from the
// OTEL_* environment the host passes on (the plugin's spans then go to the
// same collector as the host's, as service dezky-provider-<name>). It
// returns the function flushing the spans at exit.
func setupTracing(p Provider) func() {
	ctx := context.Background()
	name, version := "provider", ""
	if d, err := p.Describe(ctx); err == nil {
		if d.Name != "" {
			name = d.Name
		}
		version = d.Version
	}
	shutdown, on, err := otlpenv.Setup(ctx, "dezky-provider-"+name, version, true)
	if err != nil {
		Logger().Error("tracing not started", "error", err)
		return func() {}
	}
	if !on {
		return func() {}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			Logger().Warn("flushing spans", "error", err)
		}
	}
}
