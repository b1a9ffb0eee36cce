package telemetry

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// River returns the river middleware tracing background jobs: a job
// inserted inside a trace carries that trace's context in its metadata
// (the W3C traceparent, and tracestate when set), and working the job
// starts a span "job <kind>" continuing that trace as a child of the span
// that inserted it, so a request's trace reaches the work it queued (and
// the plugin calls that work makes). A job inserted outside any trace (a
// periodic job) starts a trace of its own when worked.
func River() rivertype.Middleware { return &riverTracer{} }

type riverTracer struct{ river.MiddlewareDefaults }

var (
	_ rivertype.JobInsertMiddleware = (*riverTracer)(nil)
	_ rivertype.WorkerMiddleware    = (*riverTracer)(nil)
)

// InsertMany adds the trace context to each job's metadata.
func (*riverTracer) InsertMany(ctx context.Context, many []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	if trace.SpanContextFromContext(ctx).IsValid() {
		carrier := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(ctx, carrier)
		for _, p := range many {
			md := map[string]any{}
			if len(p.Metadata) > 0 {
				if err := json.Unmarshal(p.Metadata, &md); err != nil {
					return nil, fmt.Errorf("telemetry: job metadata: %w", err)
				}
			}
			for k, v := range carrier {
				md[k] = v
			}
			b, err := json.Marshal(md)
			if err != nil {
				return nil, fmt.Errorf("telemetry: job metadata: %w", err)
			}
			p.Metadata = b
		}
	}
	return doInner(ctx)
}

// Work runs the job in a span continuing the trace that inserted it.
func (*riverTracer) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	parent := trace.ContextWithSpanContext(ctx, trace.SpanContext{}) // no inherited span
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("job.kind", job.Kind), attribute.Int64("job.id", job.ID),
			attribute.Int("job.attempt", job.Attempt), attribute.String("job.queue", job.Queue)),
	}
	if len(job.Metadata) > 0 {
		var md map[string]any
		if json.Unmarshal(job.Metadata, &md) == nil {
			carrier := propagation.MapCarrier{}
			for _, k := range (propagation.TraceContext{}).Fields() {
				if v, ok := md[k].(string); ok {
					carrier[k] = v
				}
			}
			if sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier)); sc.IsValid() {
				parent = trace.ContextWithRemoteSpanContext(ctx, sc)
			}
		}
	}
	ctx, span := tracer().Start(parent, "job "+job.Kind, opts...)
	defer span.End()
	err := doInner(ctx)
	if err != nil {
		span.SetStatus(codes.Error, "job failed")
	}
	return err
}
