// Package otlpenv sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables, for the server and for provider plugins alike
// (it imports nothing else of the server's).
//
// Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_TRACES_EXPORTER is
// not "none", OTEL_SDK_DISABLED not "true"); it is off otherwise, and the
// instrumentation then costs next to nothing. Spans are exported over OTLP
// with the protocol OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL names: "http/protobuf" (the default) or
// "grpc". Every other OTEL_* setting the OpenTelemetry SDK reads (headers,
// TLS, timeouts, OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_SERVICE_NAME, OTEL_BSP_*) applies as documented by OpenTelemetry.
//
// The context is propagated as W3C trace context (traceparent) and
// baggage: from incoming HTTP requests, to provider plugins over gRPC, and
// from the plugins to their upstreams over HTTP.
package otlpenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Enabled reports whether the environment asks for trace export.
func Enabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))) {
	case "", "otlp":
	default: // "none", or an exporter this build does not have
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup installs the global propagator (W3C trace context and baggage)
// and, when Enabled, a global tracer provider exporting over OTLP with the
// given service name (OTEL_SERVICE_NAME wins over it unless force is
// set; plugins force their own name, as they inherit the host's
// environment). It returns the function flushing and stopping the export
// (a no-op when tracing is off) and whether tracing is on.
func Setup(ctx context.Context, serviceName, version string, force bool) (shutdown func(context.Context) error, on bool, err error) {
	otel.SetTextMapPropagator(Propagator())
	if !Enabled() {
		return func(context.Context) error { return nil }, false, nil
	}
	exp, err := exporter(ctx)
	if err != nil {
		return nil, false, err
	}
	// Later detectors win: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
	// override the given name, unless it is forced.
	ours := resource.WithAttributes(semconv.ServiceName(serviceName), semconv.ServiceVersion(version))
	opts := []resource.Option{resource.WithTelemetrySDK(), ours, resource.WithFromEnv()}
	if force {
		opts = append(opts, ours)
	}
	res, err := resource.New(ctx, opts...)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, false, fmt.Errorf("telemetry: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, true, nil
}

// Propagator is the W3C trace context and baggage propagator.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// exporter returns the OTLP exporter of the configured protocol; the
// exporters read the endpoint, headers, TLS and timeout settings from the
// environment themselves.
func exporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	var err error
	switch strings.ToLower(strings.TrimSpace(proto)) {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("telemetry: OTLP protocol %q is not supported: want http/protobuf or grpc", proto)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	return exp, nil
}
