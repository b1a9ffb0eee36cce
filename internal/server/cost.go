package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/dezky/platform/internal/ratelimit"
	"github.com/dezky/platform/internal/viewer"
)

// CodeThrottled answers an operation whose requested cost exceeds what the
// caller's rate-limit bucket holds.
const CodeThrottled = "THROTTLED"

// costMeter reports every operation's cost in extensions.cost and, with a
// limiter, meters it against the caller's leaky bucket:
//
//	"cost": {
//	  "requestedQueryCost": 52,   // the computed complexity (worst case)
//	  "actualQueryCost": 12,      // the same formula over what was returned
//	  "throttleStatus": {"maximumAvailable": 5000, "currentlyAvailable": 4988, "restoreRate": 250}
//	}
//
// The requested cost is reserved before execution; an operation the bucket
// cannot cover is answered THROTTLED (nothing runs) with
// extensions.retryAfterSeconds and a Retry-After header. After execution
// the difference between requested and actual cost is refunded. A
// subscription is charged its requested cost once, when it starts. HTTP
// responses carry X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (seconds until the bucket is full).
type costMeter struct {
	limiter *ratelimit.Limiter // nil: report cost only
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = costMeter{}

func (costMeter) ExtensionName() string                   { return "Cost" }
func (costMeter) Validate(graphql.ExecutableSchema) error { return nil }

func (m costMeter) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	requested := 0
	if st := extension.GetComplexityStats(ctx); st != nil {
		requested = st.Complexity
	}
	class, subject := costSubject(ctx)
	limited := m.limiter != nil && m.limiter.Limited(class)
	var status ratelimit.Status
	if limited {
		var ok bool
		status, ok = m.limiter.Reserve(class, subject, float64(requested))
		setRateHeaders(ctx, status)
		if !ok {
			wait := status.RetryAfter(float64(requested))
			secs := int(math.Ceil(wait.Seconds()))
			if h := headerOf(ctx); h != nil {
				h.Set("Retry-After", strconv.Itoa(secs))
			}
			if requested > int(status.Maximum) {
				secs = -1 // never: the operation costs more than the bucket holds
			}
			err := &gqlerror.Error{
				Message:    throttledMessage(requested, status, secs),
				Extensions: map[string]any{"code": CodeThrottled, "retryAfterSeconds": secs},
			}
			sent := false
			return func(ctx context.Context) *graphql.Response {
				if sent {
					return nil
				}
				sent = true
				return &graphql.Response{
					Errors:     gqlerror.List{err},
					Extensions: map[string]any{"cost": costReport(requested, 0, limited, status)},
				}
			}
		}
	}
	subscription := oc.Operation != nil && oc.Operation.Operation == ast.Subscription
	settled := false
	rh := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		resp := rh(ctx)
		if resp == nil {
			return nil
		}
		actual := requested
		if !subscription && !settled {
			actual = actualCost(oc, resp.Data)
			if limited {
				status = m.limiter.Settle(class, subject, float64(requested-actual))
				setRateHeaders(ctx, status)
			}
			settled = true
		}
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["cost"] = costReport(requested, actual, limited, status)
		return resp
	}
}

func throttledMessage(requested int, s ratelimit.Status, secs int) string {
	if secs < 0 {
		return fmt.Sprintf("throttled: the operation costs %d, more than your rate-limit bucket ever holds (%.0f); ask for fewer items", requested, s.Maximum)
	}
	return fmt.Sprintf("throttled: the operation costs %d and your rate-limit bucket holds %.0f (restores %.0f/s); retry in %d s", requested, s.Available, s.Restore, secs)
}

func costReport(requested, actual int, limited bool, s ratelimit.Status) map[string]any {
	r := map[string]any{"requestedQueryCost": requested, "actualQueryCost": actual}
	if limited {
		r["throttleStatus"] = map[string]any{
			"maximumAvailable":   s.Maximum,
			"currentlyAvailable": math.Floor(s.Available),
			"restoreRate":        s.Restore,
		}
	}
	return r
}

// costSubject names the caller's bucket: signed-in users by subject, in
// the class of their widest role; anonymous callers by client address.
func costSubject(ctx context.Context) (ratelimit.Class, string) {
	v := viewer.FromContext(ctx)
	switch {
	case v == nil:
		ip, _ := ctx.Value(peerIPKey{}).(string)
		return ratelimit.Anonymous, "ip:" + ip
	case v.Operator:
		return ratelimit.Operator, "sub:" + v.Subject
	case v.PartnerID != 0:
		return ratelimit.Partner, "sub:" + v.Subject
	default:
		return ratelimit.Tenant, "sub:" + v.Subject
	}
}

// rateHeaderKey carries the HTTP response headers to the cost meter.
type rateHeaderKey struct{}

// withRateHeaders lets the cost meter set rate-limit headers on plain HTTP
// responses (WebSocket messages have no headers).
func withRateHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), rateHeaderKey{}, w.Header())))
	})
}

func headerOf(ctx context.Context) http.Header {
	h, _ := ctx.Value(rateHeaderKey{}).(http.Header)
	return h
}

func setRateHeaders(ctx context.Context, s ratelimit.Status) {
	h := headerOf(ctx)
	if h == nil {
		return
	}
	h.Set("X-RateLimit-Limit", strconv.FormatFloat(s.Maximum, 'f', -1, 64))
	h.Set("X-RateLimit-Remaining", strconv.FormatFloat(math.Floor(s.Available), 'f', -1, 64))
	h.Set("X-RateLimit-Reset", strconv.Itoa(int(math.Ceil(s.ResetAfter().Seconds()))))
}

// actualCost evaluates the cost formula of the requested cost (each field
// 1 plus its children; a connection 1 plus page size × its children; a
// plain list its children once) over the response, with each connection's
// page size replaced by the number of edges it returned (at least 1).
// Fields the response lacks (fragments on other types, errors) cost
// nothing, and a field selected twice under one key is counted once, so
// the actual cost never exceeds the requested one.
func actualCost(oc *graphql.OperationContext, data json.RawMessage) int {
	if oc == nil || oc.Operation == nil || len(data) == 0 {
		return 0
	}
	v, ok := skimJSON(data)
	if !ok {
		return 0
	}
	obj, _ := v.(map[string]any)
	return selectionCost(oc.Operation.SelectionSet, obj, map[string]bool{})
}

func selectionCost(set ast.SelectionSet, obj map[string]any, seen map[string]bool) int {
	if obj == nil {
		return 0
	}
	total := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			val, ok := obj[key]
			if !ok || seen[key] || s.Definition == nil || s.Definition.Type.Name() == "__Schema" {
				continue
			}
			seen[key] = true
			total = satAdd(total, fieldCost(s, val))
		case *ast.FragmentSpread:
			if s.Definition != nil {
				total = satAdd(total, selectionCost(s.Definition.SelectionSet, obj, seen))
			}
		case *ast.InlineFragment:
			total = satAdd(total, selectionCost(s.SelectionSet, obj, seen))
		}
	}
	return total
}

func fieldCost(f *ast.Field, val any) int {
	if len(f.SelectionSet) == 0 || val == nil {
		return 1
	}
	child := valueCost(f.SelectionSet, val)
	if !strings.HasSuffix(f.Definition.Type.Name(), "Connection") {
		return satAdd(1, child)
	}
	n := 1
	if obj, ok := val.(map[string]any); ok {
		for _, k := range connectionItems(f.SelectionSet) {
			if items, ok := obj[k].([]any); ok && len(items) > n {
				n = len(items)
			}
		}
	}
	return satAdd(1, satMul(n, child))
}

// valueCost is the children's cost of an object, or of the costliest item
// of a list (a plain list costs its children once, as in the requested cost).
func valueCost(set ast.SelectionSet, val any) int {
	switch x := val.(type) {
	case map[string]any:
		return selectionCost(set, x, map[string]bool{})
	case []any:
		most := 0
		for _, item := range x {
			most = max(most, valueCost(set, item))
		}
		return most
	}
	return 0
}

// connectionItems returns the response keys of a connection's edges and
// nodes fields.
func connectionItems(set ast.SelectionSet) []string {
	var keys []string
	for _, sel := range set {
		if f, ok := sel.(*ast.Field); ok && (f.Name == "edges" || f.Name == "nodes") {
			k := f.Alias
			if k == "" {
				k = f.Name
			}
			keys = append(keys, k)
		}
	}
	return keys
}

func satAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func satMul(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

// charged meters a plain HTTP endpoint against the caller's bucket at one
// point per request, with the same buckets and headers as GraphQL. An
// exhausted bucket answers 429 with Retry-After as an RFC 3339 instant,
// the form the OpenFeature remote evaluation protocol specifies.
func charged(l *ratelimit.Limiter, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), rateHeaderKey{}, w.Header())
		class, subject := costSubject(ctx)
		if !l.Limited(class) {
			next.ServeHTTP(w, r)
			return
		}
		status, ok := l.Reserve(class, subject, 1)
		setRateHeaders(ctx, status)
		if !ok {
			at := time.Now().Add(status.RetryAfter(1)).UTC().Truncate(time.Second).Add(time.Second)
			w.Header().Set("Retry-After", at.Format(time.RFC3339))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_ = json.NewEncoder(w).Encode(map[string]string{"errorDetails": "rate limit reached: retry after " + at.Format(time.RFC3339)})
			return
		}
		next.ServeHTTP(w, r)
	})
}
