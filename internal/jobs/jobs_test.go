package jobs_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/testing/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string { return "test_ping" }

// pingWorker counts the jobs it worked and reports each on done.
type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	worked atomic.Int64
	done   chan int
}

func (w *pingWorker) Work(_ context.Context, j *river.Job[pingArgs]) error {
	w.worked.Add(1)
	w.done <- j.Args.N
	return nil
}

func newEngine(t *testing.T, d *db.DB, w *pingWorker, periodic time.Duration) *jobs.Engine {
	t.Helper()
	e := jobs.New(jobs.Config{DB: d, Poll: 50 * time.Millisecond})
	jobs.AddWorker(e, w)
	if periodic > 0 {
		e.AddPeriodic(periodic, pingArgs{N: -1}, true)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return e
}

func jobCount(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.SQL.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'test_ping'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInsertTxFollowsTheChange inserts jobs in ent transactions: a job
// inserted in a rolled-back transaction never exists, one inserted in a
// committed transaction is worked.
func TestInsertTxFollowsTheChange(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := &pingWorker{done: make(chan int, 10)}
		e := newEngine(t, d, w, 0)

		if err := e.InsertTx(ctx, pingArgs{N: 1}, nil); !errors.Is(err, jobs.ErrNoTx) {
			t.Fatalf("insert without a transaction: got %v, want ErrNoTx", err)
		}
		boom := errors.New("change failed")
		err := db.WithTx(ctx, d.Client, func(ctx context.Context) error {
			if err := e.InsertTx(ctx, pingArgs{N: 2}, nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("rolled-back change: %v", err)
		}
		if n := jobCount(t, d); n != 0 {
			t.Fatalf("jobs after rollback = %d, want 0", n)
		}
		if err := db.WithTx(ctx, d.Client, func(ctx context.Context) error {
			return e.InsertTx(ctx, pingArgs{N: 3}, nil)
		}); err != nil {
			t.Fatal(err)
		}
		if got := <-w.done; got != 3 {
			t.Fatalf("worked job %d, want 3", got)
		}
		if n := jobCount(t, d); n != 1 {
			t.Fatalf("jobs after commit = %d, want 1", n)
		}
	})
}

// TestPeriodicRunsOnceAcrossReplicas starts two engines (two replicas) on
// one database with the same periodic job: it is inserted and worked once
// in its period.
func TestPeriodicRunsOnceAcrossReplicas(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		w := &pingWorker{done: make(chan int, 10)}
		a := newEngine(t, d, w, time.Hour)
		b := newEngine(t, d, w, time.Hour)
		if got := <-w.done; got != -1 {
			t.Fatalf("worked job %d, want the periodic one", got)
		}
		// Stopping the replicas in turn hands leadership over: the new
		// leader must not insert the period's job again.
		if err := a.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := b.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := jobCount(t, d); n != 1 {
			t.Fatalf("periodic jobs inserted = %d, want 1", n)
		}
		if n := w.worked.Load(); n != 1 {
			t.Fatalf("periodic job worked %d times, want 1", n)
		}
	})
}

// TestRiverSchemaIsCurrent checks that the river tables made by the
// versioned PostgreSQL migrations are the ones river's migrator expects.
func TestRiverSchemaIsCurrent(t *testing.T) {
	d := testdb.Open(t, dialect.Postgres)
	m, err := rivermigrate.New(riverdatabasesql.New(d.SQL), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Validate(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("river migrations pending after `dezky migrate`: %v", res.Messages)
	}
}
