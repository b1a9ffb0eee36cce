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
// starts a span "job <kind>" in a trace of its own that links to it. A
// job inserted outside any trace (a periodic job) is still traced when
// worked, without a link.
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

// Work runs the job in a span linked to the trace that inserted it.
func (*riverTracer) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	opts := []trace.SpanStartOption{
		trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindConsumer),
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
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
			}
		}
	}
	ctx, span := tracer().Start(ctx, "job "+job.Kind, opts...)
	defer span.End()
	err := doInner(ctx)
	if err != nil {
		span.SetStatus(codes.Error, "job failed")
	}
	return err
}
