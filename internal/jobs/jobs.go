// Package jobs is the background job engine: a river client
// (github.com/riverqueue/river) over the server's database, owning worker
// registration, periodic jobs, and the insertion of jobs in the
// transaction of the change that causes them.
//
// Domain packages register their job kinds before Open (or Start):
// AddWorker for a kind of job, AddPeriodic for work that must run once per
// period across every replica (river's leader, elected through the
// database, enqueues each periodic job; any replica may work it).
//
// A job runs on one replica at a time. One whose replica died while
// working it (a crash, a lost connection) stays running until river's
// rescuer, on the leader, hands it back after Config.RescueAfter; it is
// then retried on its worker's retry schedule, on any replica.
//
// # Databases
//
// PostgreSQL: river runs on the server's own *sql.DB through
// riverdriver/riverdatabasesql (lib/pq). That driver has no LISTEN
// support, so workers poll for new jobs every Config.Poll. River's tables
// are part of the versioned migrations (`dezky migrate`).
//
// SQLite: river runs through riverdriver/riversqlite on a *sql.DB of its
// own to the same database file, limited to one connection (SQLite has one
// writer; parallel river operations would otherwise contend for the write
// lock). Start creates river's tables, as the embedded database's schema
// is created at open.
//
// # Transactional insertion
//
// InsertTx inserts a job with river's InsertTx on the *sql.Tx under the
// ent transaction ctx carries (see db.BeginTx and db.SQLTx): the job
// exists exactly when the change that caused it commits. On SQLite the
// *sql.Tx belongs to the server's pool, not river's: river's SQLite driver
// executes on whatever *sql.Tx it is given, so the job row is written by
// the change's own connection, inside its transaction.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/dezky/platform/internal/db"
)

// Config configures an Engine.
type Config struct {
	DB  *db.DB
	Log *slog.Logger
	// Poll is how often workers look for new jobs (default 1s).
	Poll time.Duration
	// Workers is how many jobs of the default queue this replica works at
	// once (default 32). Most jobs wait on a provider or the database, not
	// on a CPU: with 4, river fetched at most 4 jobs per FetchCooldown and a
	// burst of tenant changes took minutes to provision.
	Workers int
	// FetchCooldown is the shortest pause between two fetches of jobs
	// (default 5ms). River fetches again as soon as a slot is free while
	// jobs are waiting, so this bounds how fast a backlog drains, not how
	// often an idle replica polls (Poll).
	FetchCooldown time.Duration
	// Middleware wraps job insertion and work (for example tracing).
	Middleware []rivertype.Middleware
	// JobTimeout cancels a job's context after it ran that long (default
	// 1m); a worker's Timeout method overrides it for its kind.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before river's
	// rescuer (run by the leader) takes its worker for dead (a replica
	// that crashed or lost its database connection) and retries the job
	// on its retry schedule (default 5m). It must exceed every job's
	// timeout, or a job still running would be rescued and run twice.
	RescueAfter time.Duration
}

// Engine is the job engine of one replica.
type Engine struct {
	cfg      Config
	workers  *river.Workers
	periodic []*river.PeriodicJob
	// atStart are the kinds of the periodic jobs that run at start.
	atStart []string
	queues  map[string]river.QueueConfig
	client  *river.Client[*sql.Tx]
	// pool is river's own connection to the SQLite file (nil on
	// PostgreSQL, where river shares the server's pool).
	pool *sql.DB
}

// New returns an engine; register workers and periodic jobs, then Start.
func New(cfg Config) *Engine {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 32
	}
	if cfg.FetchCooldown <= 0 {
		cfg.FetchCooldown = 5 * time.Millisecond
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = time.Minute
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = max(5*time.Minute, cfg.JobTimeout)
	}
	return &Engine{cfg: cfg, workers: river.NewWorkers()}
}

// AddWorker registers the worker of one job kind. Call before Open or Start.
func AddWorker[T river.JobArgs](e *Engine, w river.Worker[T]) {
	river.AddWorker(e.workers, w)
}

// AddQueue adds a queue worked by up to workers jobs at once on this
// replica, apart from the default queue: a kind of work that waits on the
// network (such as webhook deliveries) then never holds up the others.
// Insert its jobs with InsertOpts.Queue. Call before Start.
func (e *Engine) AddQueue(name string, workers int) {
	if e.queues == nil {
		e.queues = map[string]river.QueueConfig{}
	}
	e.queues[name] = river.QueueConfig{MaxWorkers: workers}
}

// AddPeriodic runs a job with args every period, once per period across
// every replica sharing the database (the elected leader inserts it, at
// most once per period window even across a change of leader); with
// atStart the first run is when the leader starts, else a period later.
// Its worker must be registered with AddWorker. Call before Open or Start.
func (e *Engine) AddPeriodic(period time.Duration, args river.JobArgs, atStart bool) {
	e.periodic = append(e.periodic, river.NewPeriodicJob(
		river.PeriodicInterval(period),
		// Unique per period: a replica elected while the period's job
		// already exists (a leader change) does not add another.
		func() (river.JobArgs, *river.InsertOpts) {
			return args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: period}}
		},
		&river.PeriodicJobOpts{RunOnStart: atStart},
	))
	if atStart && !slices.Contains(e.atStart, args.Kind()) {
		e.atStart = append(e.atStart, args.Kind())
	}
}

// Settled reports whether the start-up work is done: every periodic job
// that runs at start has been inserted (by whichever replica leads) and no
// job of any kind is unfinished. After it, only new changes and the next
// periods add work.
func (e *Engine) Settled(ctx context.Context) (bool, error) {
	if len(e.atStart) > 0 {
		ks := make([]any, len(e.atStart))
		for i, k := range e.atStart {
			ks[i] = k
		}
		query, args := entsql.Dialect(e.cfg.DB.Dialect).
			Select(entsql.Count(entsql.Distinct("kind"))).From(entsql.Table("river_job")).
			Where(entsql.In("kind", ks...)).
			Query()
		var n int
		if err := e.cfg.DB.SQL.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			return false, fmt.Errorf("jobs: count start-up jobs: %w", err)
		}
		if n < len(e.atStart) {
			return false, nil
		}
	}
	n, err := e.Unfinished(ctx)
	return n == 0, err
}

// Open prepares the engine for inserting jobs without working any (on
// SQLite it creates river's tables): a change may then insert its jobs
// before the replica starts working them. Workers and periodic jobs must
// be registered before Open. Start opens the engine when Open was not
// called.
func (e *Engine) Open(ctx context.Context) error {
	if e.client != nil {
		return nil
	}
	client, err := e.open(ctx)
	if err != nil {
		return err
	}
	e.client = client
	return nil
}

// Start opens the engine (see Open) and starts working jobs.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.Open(ctx); err != nil {
		return err
	}
	if err := e.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// open returns the river client over the configured database.
func (e *Engine) open(ctx context.Context) (*river.Client[*sql.Tx], error) {
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: e.cfg.Workers}}
	for name, q := range e.queues {
		queues[name] = q
	}
	cfg := &river.Config{
		Logger:               e.cfg.Log,
		FetchPollInterval:    e.cfg.Poll,
		FetchCooldown:        min(e.cfg.Poll, e.cfg.FetchCooldown),
		Queues:               queues,
		Workers:              e.workers,
		PeriodicJobs:         e.periodic,
		JobTimeout:           e.cfg.JobTimeout,
		RescueStuckJobsAfter: e.cfg.RescueAfter,
		// Completed jobs are history only; frequent periodic jobs would
		// otherwise pile up for river's default day.
		CompletedJobRetentionPeriod: time.Hour,
		Middleware:                  e.cfg.Middleware,
	}
	if e.cfg.DB.IsPostgres() {
		c, err := river.NewClient(riverdatabasesql.New(e.cfg.DB.SQL), cfg)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		return c, nil
	}
	pool, err := e.cfg.DB.OpenPool(ctx)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	pool.SetMaxOpenConns(1)
	drv := riversqlite.New(pool)
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: e.cfg.Log})
	if err == nil {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("jobs: create river tables: %w", err)
	}
	c, err := river.NewClient(drv, cfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	e.pool = pool
	return c, nil
}

// Stop stops fetching jobs and waits for the running ones to finish; when
// ctx ends first, it cancels them (river then retries them later, on any
// replica). It closes river's own SQLite connection. A stopped engine
// stays stopped; Stop may be called again.
func (e *Engine) Stop(ctx context.Context) error {
	if e.client == nil {
		return nil
	}
	err := e.client.Stop(ctx) // nil when the engine was only opened
	if err != nil && ctx.Err() != nil {
		err = e.client.StopAndCancel(context.WithoutCancel(ctx))
	}
	if e.pool != nil {
		err = errors.Join(err, e.pool.Close())
		e.pool = nil
	}
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// ErrNoTx is returned by InsertTx when ctx carries no transaction opened
// through db.BeginTx or db.WithTx.
var ErrNoTx = errors.New("jobs: insert needs the transaction of the change (db.WithTx)")

// InsertTx inserts a job in the transaction ctx carries. The engine must
// have been opened.
func (e *Engine) InsertTx(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	tx, ok := db.SQLTx(ctx)
	if !ok {
		return ErrNoTx
	}
	if e.client == nil {
		return errors.New("jobs: engine not opened")
	}
	if _, err := e.client.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return nil
}

// unfinished are the states of a job that has not finished: waiting to
// run, running, or waiting to be retried.
var unfinished = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// Unfinished counts the jobs of the given kinds (every kind when none is
// given) that have not finished (queued, scheduled, running or waiting for
// a retry), on every replica.
func (e *Engine) Unfinished(ctx context.Context, kinds ...string) (int, error) {
	states := make([]any, len(unfinished))
	for i, st := range unfinished {
		states[i] = string(st)
	}
	ks := make([]any, len(kinds))
	for i, k := range kinds {
		ks[i] = k
	}
	where := entsql.In("state", states...)
	if len(ks) > 0 {
		where = entsql.And(entsql.In("kind", ks...), where)
	}
	query, args := entsql.Dialect(e.cfg.DB.Dialect).
		Select(entsql.Count("*")).From(entsql.Table("river_job")).
		Where(where).
		Query()
	var n int
	if err := e.cfg.DB.SQL.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("jobs: count unfinished %v: %w", kinds, err)
	}
	return n, nil
}

// WaitIdle returns when no job of the given kinds is unfinished (see
// Unfinished), or with ctx's error. It checks again whenever this
// replica finishes a job, and every Config.Poll for jobs other replicas
// work. The engine must have been started.
func (e *Engine) WaitIdle(ctx context.Context, kinds ...string) error {
	if e.client == nil {
		return errors.New("jobs: engine not started")
	}
	events, cancel := e.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
	defer cancel()
	t := time.NewTicker(e.cfg.Poll)
	defer t.Stop()
	for {
		n, err := e.Unfinished(ctx, kinds...)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jobs: %d jobs of %v unfinished: %w", n, kinds, ctx.Err())
		case <-events:
		case <-t.C:
		}
	}
}

// InsertManyTx inserts several jobs in the transaction ctx carries, in one
// statement (cheaper than one InsertTx each, notably on SQLite). The
// engine must have been opened.
func (e *Engine) InsertManyTx(ctx context.Context, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	tx, ok := db.SQLTx(ctx)
	if !ok {
		return ErrNoTx
	}
	if e.client == nil {
		return errors.New("jobs: engine not opened")
	}
	if _, err := e.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("jobs: insert %d jobs: %w", len(params), err)
	}
	return nil
}
