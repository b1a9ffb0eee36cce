// Package telemetry instruments the server's parts with OpenTelemetry
// traces: GraphQL operations and resolvers, ent queries and mutations,
// and background jobs. It uses the global tracer provider at each span, so
// it traces nothing (at next to no cost) until one is installed (see
// package otlpenv, which does so from the OTEL_* environment variables).
package telemetry
