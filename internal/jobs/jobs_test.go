package jobs_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
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

func TestMain(m *testing.M) {
	if url := os.Getenv(crashChildEnv); url != "" {
		os.Exit(crashChild(url))
	}
	os.Exit(testdb.Main(m))
}

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

// countWorker records how often each test_count job ran and how many runs
// of one job overlapped.
type countWorker struct {
	river.WorkerDefaults[countArgs]
	mu       sync.Mutex
	runs     map[int64]int
	running  map[int64]int
	overlaps int
	attempts map[int64]int
}

type countArgs struct{}

func (countArgs) Kind() string { return "test_count" }

func newCountWorker() *countWorker {
	return &countWorker{runs: map[int64]int{}, running: map[int64]int{}, attempts: map[int64]int{}}
}

func (w *countWorker) Work(_ context.Context, j *river.Job[countArgs]) error {
	w.mu.Lock()
	w.runs[j.ID]++
	w.attempts[j.ID] = j.Attempt
	w.running[j.ID]++
	if w.running[j.ID] > 1 {
		w.overlaps++
	}
	w.mu.Unlock()
	// Yield, so a second engine that had fetched the same job would
	// overlap with this run.
	time.Sleep(time.Millisecond)
	w.mu.Lock()
	w.running[j.ID]--
	w.mu.Unlock()
	return nil
}

func insertCounts(t *testing.T, d *db.DB, e *jobs.Engine, n int) {
	t.Helper()
	err := db.WithTx(context.Background(), d.Client, func(ctx context.Context) error {
		for range n {
			if err := e.InsertTx(ctx, countArgs{}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func waitIdle(t *testing.T, e *jobs.Engine, kinds ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.WaitIdle(ctx, kinds...); err != nil {
		t.Fatal(err)
	}
}

// TestTwoEnginesNeverRunAJobTwice shares one queue between two engines
// (two replicas): every job runs exactly once, on one of them.
func TestTwoEnginesNeverRunAJobTwice(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		w := newCountWorker()
		var engines []*jobs.Engine
		for range 2 {
			e := jobs.New(jobs.Config{DB: d, Poll: 20 * time.Millisecond, Workers: 8})
			jobs.AddWorker(e, w)
			if err := e.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Stop(context.Background()) })
			engines = append(engines, e)
		}
		const n = 60
		insertCounts(t, d, engines[0], n)
		waitIdle(t, engines[1], "test_count")
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.runs) != n || w.overlaps != 0 {
			t.Fatalf("%d jobs ran, %d overlapping runs; want %d and 0", len(w.runs), w.overlaps, n)
		}
		for id, runs := range w.runs {
			if runs != 1 {
				t.Fatalf("job %d ran %d times", id, runs)
			}
		}
	})
}

// crashChildEnv names the database a crash child process works on.
const crashChildEnv = "DEZKY_JOBS_CRASH_CHILD"

// crashChild is a replica that takes a job and dies while working it: its
// worker prints the job's ID and blocks until the test kills the process.
func crashChild(url string) int {
	ctx := context.Background()
	d, err := db.Open(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e := jobs.New(jobs.Config{DB: d, Poll: 20 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	jobs.AddWorker(e, &hangWorker{})
	if err := e.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	select {}
}

type hangWorker struct {
	river.WorkerDefaults[countArgs]
}

func (hangWorker) Work(ctx context.Context, j *river.Job[countArgs]) error {
	fmt.Printf("working %d\n", j.ID)
	<-ctx.Done()
	select {}
}

// TestCrashedWorkersJobIsRescued kills (SIGKILL) a replica while it works
// a job: the job stays running in the database until river's rescuer, on
// the replica elected leader next, hands it back; it then runs again, on
// its second attempt.
func TestCrashedWorkersJobIsRescued(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		e := jobs.New(jobs.Config{DB: d, Poll: 20 * time.Millisecond, JobTimeout: time.Second, RescueAfter: time.Second})
		w := newCountWorker()
		jobs.AddWorker(e, w)
		if err := e.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.Stop(context.Background()) })
		insertCounts(t, d, e, 1)

		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), crashChildEnv+"="+d.URL())
		child.Stderr = os.Stderr
		out, err := child.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if !strings.HasPrefix(line, "working ") {
			_ = child.Process.Kill()
			t.Fatalf("child: %q, %v", line, err)
		}
		if err := child.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = child.Wait()
		var state string
		if err := d.SQL.QueryRow(`SELECT state FROM river_job WHERE kind = 'test_count'`).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state != "running" {
			t.Fatalf("job of the killed replica is %s, want running", state)
		}

		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, e, "test_count")
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.runs) != 1 {
			t.Fatalf("rescued job ran %d times here, want 1", len(w.runs))
		}
		for _, a := range w.attempts {
			if a != 2 {
				t.Fatalf("rescued job ran as attempt %d, want 2", a)
			}
		}
	})
}
