package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// GraphQL returns the gqlgen extension counting and timing operations.
// Executed operations are observed at their first response (for a
// subscription: its first event, so its latency is the time to the first
// event); requests rejected before execution (parse, validation, cost
// limits) are counted with type "invalid", named by the request's
// operationName ("anonymous" without one: their document is not parsed
// for it).
func (m *Metrics) GraphQL() graphql.HandlerExtension { return gqlExtension{m} }

type gqlExtension struct{ m *Metrics }

var (
	_ graphql.OperationInterceptor = gqlExtension{}
	_ graphql.ResponseInterceptor  = gqlExtension{}
)

func (gqlExtension) ExtensionName() string                   { return "Metrics" }
func (gqlExtension) Validate(graphql.ExecutableSchema) error { return nil }
func (e gqlExtension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	began := time.Now()
	oc := graphql.GetOperationContext(ctx)
	name, typ := operationName(oc), "unknown"
	if oc.Operation != nil {
		typ = string(oc.Operation.Operation)
	}
	rh := next(ctx)
	var observed atomic.Bool
	return func(ctx context.Context) *graphql.Response {
		resp := rh(context.WithValue(ctx, executedKey{}, true))
		if observed.CompareAndSwap(false, true) {
			e.m.observeOperation(name, typ, responseCode(resp), time.Since(began))
		}
		return resp
	}
}

// executedKey marks the responses of executed operations, which
// InterceptOperation observes.
type executedKey struct{}

// InterceptResponse observes the responses to requests rejected before
// execution (they never reach InterceptOperation).
func (e gqlExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if ctx.Value(executedKey{}) != nil {
		return resp
	}
	name := "anonymous"
	if graphql.HasOperationContext(ctx) {
		name = operationName(graphql.GetOperationContext(ctx))
	}
	e.m.observeOperation(name, "invalid", responseCode(resp), 0)
	return resp
}

func (m *Metrics) observeOperation(name, typ, code string, d time.Duration) {
	name = m.opNames.admit(name)
	m.gqlOps.WithLabelValues(name, typ, code).Inc()
	if typ != "invalid" {
		m.gqlDuration.WithLabelValues(name, typ, code).Observe(d.Seconds())
	}
}

// operationName returns the operation's name, sanitised: at most 64
// characters of letters, digits and underscores (GraphQL names have no
// others), "anonymous" for an unnamed one.
func operationName(oc *graphql.OperationContext) string {
	name := oc.OperationName
	if name == "" && oc.Operation != nil {
		name = oc.Operation.Name
	}
	if name == "" && oc.Doc != nil && len(oc.Doc.Operations) == 1 {
		name = oc.Doc.Operations[0].Name
	}
	if name == "" {
		return "anonymous"
	}
	if len(name) > 64 {
		name = name[:64]
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return "invalid_name"
		}
	}
	return name
}

// responseCode is OK, or the first error's extensions.code (UNKNOWN when
// it has none).
func responseCode(resp *graphql.Response) string {
	if resp == nil || len(resp.Errors) == 0 {
		return "OK"
	}
	if c, ok := resp.Errors[0].Extensions["code"].(string); ok && c != "" {
		return c
	}
	return "UNKNOWN"
}
