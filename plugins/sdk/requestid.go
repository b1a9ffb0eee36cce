package sdk

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// RequestIDMetadataKey is the gRPC metadata key under which the host sends
// the id of the request a plugin call serves (when the call serves one).
const RequestIDMetadataKey = "x-request-id"

type requestIDKey struct{}

// RequestID returns the id of the host request a call serves, or "" (for
// calls made by background work, or by a host that sends none). Serve
// puts it into every method's context; Logger adds it to every record
// logged with that context.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestIDInterceptor moves the request id from the incoming metadata
// into the context.
func requestIDInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(RequestIDMetadataKey); len(v) > 0 && validRequestID(v[0]) {
			ctx = context.WithValue(ctx, requestIDKey{}, v[0])
		}
	}
	return handler(ctx, req)
}

// validRequestID: what the host sends is sane already; a plugin still
// refuses anything else, as it ends up in its log lines.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// contextHandler adds request_id, trace_id and span_id from a record's
// context, so a provider's log lines name the host request they serve.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
