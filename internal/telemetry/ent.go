package telemetry

import (
	"context"
	"strings"

	entgo "entgo.io/ent"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/dezky/platform/ent"
)

// InstrumentEnt adds a span around every ent query ("ent.query <Type>")
// and mutation ("ent.<Op> <Type>") of client and of the transactions
// opened from it. system is the database's semantic-convention name
// ("postgresql" or "sqlite"). SQL the server runs outside ent (the audit
// chain, river) has no span of its own.
func InstrumentEnt(client *ent.Client, system string) {
	sys := attribute.String("db.system.name", system)
	client.Intercept(entgo.InterceptFunc(func(next entgo.Querier) entgo.Querier {
		return entgo.QuerierFunc(func(ctx context.Context, q entgo.Query) (entgo.Value, error) {
			if !trace.SpanContextFromContext(ctx).IsValid() {
				return next.Query(ctx, q) // only inside a trace
			}
			typ, op := "", ""
			if qc := entgo.QueryFromContext(ctx); qc != nil {
				typ, op = qc.Type, qc.Op
			}
			ctx, span := tracer().Start(ctx, "ent.query "+typ, trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(sys, attribute.String("db.operation.name", op), attribute.String("db.collection.name", typ)))
			defer span.End()
			v, err := next.Query(ctx, q)
			if err != nil {
				span.SetStatus(codes.Error, "query failed")
			}
			return v, err
		})
	}))
	client.Use(func(next entgo.Mutator) entgo.Mutator {
		return entgo.MutateFunc(func(ctx context.Context, m entgo.Mutation) (entgo.Value, error) {
			if !trace.SpanContextFromContext(ctx).IsValid() {
				return next.Mutate(ctx, m)
			}
			ctx, span := tracer().Start(ctx, "ent."+strings.TrimPrefix(m.Op().String(), "Op")+" "+m.Type(), trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(sys, attribute.String("db.operation.name", strings.TrimPrefix(m.Op().String(), "Op")), attribute.String("db.collection.name", m.Type())))
			defer span.End()
			v, err := next.Mutate(ctx, m)
			if err != nil {
				span.SetStatus(codes.Error, "mutation failed")
			}
			return v, err
		})
	})
}
