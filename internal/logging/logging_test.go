package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/dezky/platform/internal/logging"
)

// TestHandlerAddsRequestAndTrace: a record logged with a context carrying
// a request id and a span gets request_id, trace_id and span_id, in both
// formats; one logged without gets none.
func TestHandlerAddsRequestAndTrace(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(logging.WithRequestID(context.Background(), "req-1"),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))

	var buf bytes.Buffer
	log, err := logging.New(&buf, logging.FormatJSON, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	log.With("component", "x").InfoContext(ctx, "hello")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	for k, want := range map[string]string{"request_id": "req-1", "trace_id": tid.String(), "span_id": sid.String(), "component": "x", "msg": "hello"} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %s (%s)", k, rec[k], want, buf.String())
		}
	}
	buf.Reset()
	log.Info("no context")
	if strings.Contains(buf.String(), "request_id") || strings.Contains(buf.String(), "trace_id") {
		t.Errorf("record without a request carries ids: %s", buf.String())
	}

	buf.Reset()
	text, err := logging.New(&buf, logging.FormatText, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	text.InfoContext(ctx, "hello")
	if !strings.Contains(buf.String(), "request_id=req-1") || !strings.Contains(buf.String(), "trace_id="+tid.String()) {
		t.Errorf("text line lacks the ids: %s", buf.String())
	}
	if _, err := logging.New(&buf, "xml", slog.LevelInfo); err == nil {
		t.Error("format xml accepted")
	}
}

// TestValidRequestID: only bounded ids of a safe charset are honoured.
func TestValidRequestID(t *testing.T) {
	for id, want := range map[string]bool{
		"abc-123":                true,
		"0a1b2c3d-4e5f.6789_x:y": true,
		"":                       false,
		strings.Repeat("a", 128): true,
		strings.Repeat("a", 129): false,
		"has space":              false,
		"new\nline":              false,
		`quote"d`:                false,
		"ünïcode":                false,
		"level=error msg=forged": false,
		logging.NewRequestID():   true,
	} {
		if got := logging.ValidRequestID(id); got != want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", id, got, want)
		}
	}
	if a, b := logging.NewRequestID(), logging.NewRequestID(); a == b || len(a) != 32 {
		t.Errorf("NewRequestID gave %q and %q", a, b)
	}
}
