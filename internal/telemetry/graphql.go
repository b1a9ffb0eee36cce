package telemetry

import (
	"context"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName names the tracer of the server's own spans.
const ScopeName = "github.com/dezky/platform"

func tracer() trace.Tracer { return otel.GetTracerProvider().Tracer(ScopeName) }

// GraphQL returns the gqlgen extension tracing each operation (a span
// "<type> <name>" ending at the operation's first response, so for a
// subscription at its first event) and each field served by a resolver
// function (those that do I/O; plain field reads get no span).
func GraphQL() graphql.HandlerExtension { return gqlTracer{} }

type gqlTracer struct{}

var (
	_ graphql.OperationInterceptor = gqlTracer{}
	_ graphql.FieldInterceptor     = gqlTracer{}
)

func (gqlTracer) ExtensionName() string                   { return "Tracing" }
func (gqlTracer) Validate(graphql.ExecutableSchema) error { return nil }

func (gqlTracer) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	typ := "unknown"
	if oc.Operation != nil {
		typ = string(oc.Operation.Operation)
	}
	name := oc.OperationName
	if name == "" && oc.Operation != nil {
		name = oc.Operation.Name
	}
	spanName := typ
	if name != "" {
		spanName += " " + name
	}
	ctx, span := tracer().Start(ctx, spanName, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("graphql.operation.type", typ), attribute.String("graphql.operation.name", name)))
	rh := next(ctx)
	var ended atomic.Bool
	return func(ctx context.Context) *graphql.Response {
		resp := rh(ctx)
		if ended.CompareAndSwap(false, true) {
			if resp != nil && len(resp.Errors) > 0 {
				code, _ := resp.Errors[0].Extensions["code"].(string)
				span.SetAttributes(attribute.String("graphql.error.code", code))
				span.SetStatus(codes.Error, code)
			}
			span.End()
		}
		return resp
	}
}

func (gqlTracer) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !fc.IsResolver {
		return next(ctx)
	}
	ctx, span := tracer().Start(ctx, "resolve "+fc.Object+"."+fc.Field.Name,
		trace.WithAttributes(attribute.String("graphql.field.path", fc.Path().String())))
	defer span.End()
	res, err := next(ctx)
	if err != nil {
		span.SetStatus(codes.Error, "resolver error")
	}
	return res, err
}
