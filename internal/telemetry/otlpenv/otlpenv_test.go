package otlpenv_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"

	"github.com/dezky/platform/internal/telemetry/otlpenv"
)

// TestSetupFollowsEnvironment: without an OTLP endpoint tracing is off;
// with one, spans are exported to it over OTLP/HTTP; OTEL_TRACES_EXPORTER
// none and an unknown protocol are honoured.
func TestSetupFollowsEnvironment(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		t.Setenv(k, "")
	}
	if otlpenv.Enabled() {
		t.Fatal("enabled without an endpoint")
	}
	var exports atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			exports.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	if otlpenv.Enabled() {
		t.Error("enabled with OTEL_TRACES_EXPORTER=none")
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
	if _, _, err := otlpenv.Setup(context.Background(), "test", "", false); err == nil {
		t.Error("unknown protocol accepted")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	prev := otel.GetTracerProvider()
	defer otel.SetTracerProvider(prev)
	shutdown, on, err := otlpenv.Setup(context.Background(), "test", "v1", false)
	if err != nil || !on {
		t.Fatalf("Setup: on=%v err=%v", on, err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if exports.Load() == 0 {
		t.Error("no span exported to the OTLP endpoint")
	}
}
