package telemetry

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// maxHandoffs bounds the trace contexts a Handoff holds: work queued here
// but taken by another replica is never resumed here.
const maxHandoffs = 1024

// Handoff carries trace contexts from the code that queues work to the
// worker of the same process that later does it, keyed by K (for queues
// whose rows have no room for a traceparent). Work done by another
// replica starts a trace of its own. The zero value is ready to use.
type Handoff[K comparable] struct {
	mu sync.Mutex
	m  map[K]trace.SpanContext
}

// Put remembers ctx's trace for the work keyed k (replacing an older
// one); without a trace in ctx it does nothing.
func (h *Handoff[K]) Put(ctx context.Context, k K) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[K]trace.SpanContext{}
	}
	if _, ok := h.m[k]; !ok && len(h.m) >= maxHandoffs {
		for old := range h.m {
			delete(h.m, old)
			break
		}
	}
	h.m[k] = sc
}

// Resume starts the span name for the work keyed k: a child of the trace
// Put remembered for k (which it forgets), else a new trace. Call end
// when the work is done.
func (h *Handoff[K]) Resume(ctx context.Context, k K, name string, attrs ...attribute.KeyValue) (context.Context, func()) {
	h.mu.Lock()
	sc, ok := h.m[k]
	delete(h.m, k)
	h.mu.Unlock()
	if ok {
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
	} else {
		ctx = trace.ContextWithSpanContext(ctx, trace.SpanContext{})
	}
	ctx, span := tracer().Start(ctx, name, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	return ctx, func() { span.End() }
}
