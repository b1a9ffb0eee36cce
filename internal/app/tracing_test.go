package app_test

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/dezky/platform/internal/testing/testdb"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it keeps the spans the
// plugin processes export, by service name.
type otlpReceiver struct {
	mu    sync.Mutex
	spans map[string][]*tracepb.Span
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	var in collectortrace.ExportTraceServiceRequest
	if err != nil || req.URL.Path != "/v1/traces" || proto.Unmarshal(body, &in) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	for _, rs := range in.ResourceSpans {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			r.spans[service] = append(r.spans[service], ss.Spans...)
		}
	}
	r.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// find returns the spans of service in trace tid named name.
func (r *otlpReceiver) find(service string, tid trace.TraceID, name string) []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range r.spans[service] {
		if hex.EncodeToString(s.TraceId) == tid.String() && (name == "" || s.Name == name) {
			out = append(out, s)
		}
	}
	return out
}

// recorded returns the host's ended spans in trace tid named name.
func recorded(rec *tracetest.SpanRecorder, tid trace.TraceID, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() == tid && (name == "" || s.Name() == name) {
			out = append(out, s)
		}
	}
	return out
}

// hasConsumer reports whether trace tid has an ended consumer span: the
// background work a request queued, continuing its trace.
func hasConsumer(rec *tracetest.SpanRecorder, tid trace.TraceID) bool {
	for _, s := range recorded(rec, tid, "") {
		if s.SpanKind() == trace.SpanKindConsumer {
			return true
		}
	}
	return false
}

// TestCreateTenantTraceReachesPlugin: one createTenant request, sent with
// a W3C traceparent, is one trace: in the server (an in-memory exporter)
// the GraphQL operation, its resolver, ent calls and, in the provisioning
// work it queued (a consumer span), the gRPC client call to the identity
// plugin; in the plugin
// process (exporting over OTLP to a receiver in this test, configured by
// the OTEL_* variables it inherits) the gRPC server span of that call
// and, below it, the HTTP call to its upstream.
func TestCreateTenantTraceReachesPlugin(t *testing.T) {
	recv := &otlpReceiver{spans: map[string][]*tracepb.Span{}}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
		_ = tp.Shutdown(t.Context())
	})

	for i, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := startObserved(t, dialect, nil)
			tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e47" + hex.EncodeToString([]byte{byte(0x30 + i)}))
			slug := "traced-" + dialect
			r := s.post(t, `mutation CreateTraced($in: CreateTenantInput!) { createTenant(input: $in) { slug } }`,
				map[string]any{"in": map[string]any{"slug": slug, "name": "Traced"}},
				map[string]string{"traceparent": "00-" + tid.String() + "-00f067aa0ba902b7-01"})
			if len(r.Errors) > 0 {
				t.Fatalf("createTenant: %v", r.Errors)
			}

			const ensure = "dezky.plugin.v2.Identity/EnsureGroup"
			deadline := time.Now().Add(time.Minute)
			// The background work's span ends after the plugin call, once
			// the outcome is recorded.
			for !hasConsumer(rec, tid) || len(recorded(rec, tid, ensure)) == 0 ||
				len(recv.find("dezky-provider-authentik", tid, ensure)) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the trace did not reach the identity plugin: host spans %d, plugin spans %d",
						len(recorded(rec, tid, "")), len(recv.find("dezky-provider-authentik", tid, "")))
				}
				time.Sleep(50 * time.Millisecond)
			}

			for _, name := range []string{"POST /query", "mutation CreateTraced", "resolve Mutation.createTenant", "ent.Create Tenant", ensure} {
				if len(recorded(rec, tid, name)) == 0 {
					t.Errorf("host: no span %q in the trace", name)
				}
			}
			client := recorded(rec, tid, ensure)[0]
			if client.SpanKind() != trace.SpanKindClient {
				t.Errorf("host span %s is %v, want a client span", ensure, client.SpanKind())
			}
			server := recv.find("dezky-provider-authentik", tid, ensure)[0]
			if server.Kind != tracepb.Span_SPAN_KIND_SERVER || hex.EncodeToString(server.ParentSpanId) != client.SpanContext().SpanID().String() {
				t.Errorf("plugin span %s: kind %v, parent %x; want a server span below the host's client span %s",
					ensure, server.Kind, server.ParentSpanId, client.SpanContext().SpanID())
			}
			// Onward: the plugin's upstream HTTP call is in the trace too.
			var upstream bool
			for _, sp := range recv.find("dezky-provider-authentik", tid, "") {
				if sp.Kind == tracepb.Span_SPAN_KIND_CLIENT && sp.Name != ensure {
					upstream = true
				}
			}
			if !upstream {
				t.Errorf("no upstream HTTP client span in the plugin's part of the trace: %v", recv.find("dezky-provider-authentik", tid, ""))
			}
		})
	}
}
