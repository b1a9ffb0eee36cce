package telemetry_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/telemetry"
	"github.com/dezky/platform/internal/testing/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

type tracedArgs struct{}

func (tracedArgs) Kind() string { return "test_traced" }

type tracedWorker struct {
	river.WorkerDefaults[tracedArgs]
	done chan struct{}
}

func (w *tracedWorker) Work(context.Context, *river.Job[tracedArgs]) error {
	close(w.done)
	return nil
}

// TestJobContinuesEnqueuingTrace: a job inserted in a change's
// transaction inside a trace is worked in a span ("job <kind>") that
// continues that trace as a child of the span that inserted it, on both
// databases.
func TestJobContinuesEnqueuingTrace(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		otel.SetTracerProvider(tp)
		w := &tracedWorker{done: make(chan struct{})}
		e := jobs.New(jobs.Config{DB: d, Poll: 50 * time.Millisecond, Middleware: []rivertype.Middleware{telemetry.River()}})
		jobs.AddWorker(e, w)
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.Stop(context.Background()) })

		ctx, span := tp.Tracer("test").Start(context.Background(), "change")
		if err := db.WithTx(ctx, d.Client, func(ctx context.Context) error {
			return e.InsertTx(ctx, tracedArgs{}, nil)
		}); err != nil {
			t.Fatal(err)
		}
		span.End()
		select {
		case <-w.done:
		case <-time.After(time.Minute):
			t.Fatal("job not worked")
		}
		var job sdktrace.ReadOnlySpan
		for deadline := time.Now().Add(10 * time.Second); job == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			for _, s := range rec.Ended() {
				if s.Name() == "job test_traced" {
					job = s
				}
			}
		}
		if job == nil {
			t.Fatal("no span for the job")
		}
		if job.SpanContext().TraceID() != span.SpanContext().TraceID() || job.Parent().SpanID() != span.SpanContext().SpanID() {
			t.Errorf("the job's span (trace %s, parent %s) is not a child of the inserting span %s",
				job.SpanContext().TraceID(), job.Parent().SpanID(), span.SpanContext().SpanID())
		}
	})
}
