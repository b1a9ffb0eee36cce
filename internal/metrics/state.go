package metrics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// State describes the database whose queues and audit chain are measured.
type State struct {
	DB       *sql.DB
	Postgres bool
	// Provisioning reports how many provisioning jobs are queued (nil:
	// not measured).
	Provisioning func(ctx context.Context) (int, error)
	// Log receives the errors of the queries run at scrape time.
	Log *slog.Logger
}

// scrapeTimeout bounds the queries of one scrape.
const scrapeTimeout = 5 * time.Second

// RegisterState adds the database pool statistics and, read from the
// database at every scrape, the river job queue (depth by queue and state,
// age of the oldest available job), the audit chain (events not chained
// yet, age of the latest checkpoint) and the provisioning queue.
func (m *Metrics) RegisterState(st State) {
	if st.Log == nil {
		st.Log = slog.Default()
	}
	m.reg.MustRegister(collectors.NewDBStatsCollector(st.DB, Namespace), stateCollector{st})
}

var (
	jobsDesc = prometheus.NewDesc(Namespace+"_jobs",
		"Background jobs (river) not finished yet, by queue and state (available, scheduled, retryable, running).", []string{"queue", "state"}, nil)
	jobsAgeDesc = prometheus.NewDesc(Namespace+"_jobs_oldest_available_age_seconds",
		"How long the oldest available background job has been due, by queue (0 when none waits).", []string{"queue"}, nil)
	auditLagDesc = prometheus.NewDesc(Namespace+"_audit_unchained_events",
		"Audit events recorded but not linked into the hash chain yet.", nil, nil)
	checkpointAgeDesc = prometheus.NewDesc(Namespace+"_audit_last_checkpoint_age_seconds",
		"Age of the latest signed audit checkpoint (absent before the first).", nil, nil)
	provisioningDesc = prometheus.NewDesc(Namespace+"_provisioning_jobs_queued",
		"Provisioning jobs waiting or running.", nil, nil)
	scrapeErrorsDesc = prometheus.NewDesc(Namespace+"_state_scrape_errors",
		"1 when reading the state metrics from the database failed in this scrape (see the server log).", nil, nil)
)

type stateCollector struct{ st State }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jobsDesc, jobsAgeDesc, auditLagDesc, checkpointAgeDesc, provisioningDesc, scrapeErrorsDesc} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	failed := 0.0
	for _, f := range []func(context.Context, chan<- prometheus.Metric) error{c.jobs, c.audit, c.provisioning} {
		if err := f(ctx, ch); err != nil {
			c.st.Log.WarnContext(ctx, "metrics: read state", "err", err)
			failed = 1
		}
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorsDesc, prometheus.GaugeValue, failed)
}

// jobs reads river's job table.
func (c stateCollector) jobs(ctx context.Context, ch chan<- prometheus.Metric) error {
	rows, err := c.st.DB.QueryContext(ctx, `SELECT queue, state, count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY queue, state`)
	if err != nil {
		return fmt.Errorf("river jobs: %w", err)
	}
	defer rows.Close()
	queues := map[string]bool{"default": true} // river's default queue is always reported
	for rows.Next() {
		var queue, state string
		var n int64
		if err := rows.Scan(&queue, &state, &n); err != nil {
			return fmt.Errorf("river jobs: %w", err)
		}
		queues[queue] = true
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), queue, state)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("river jobs: %w", err)
	}
	age := `SELECT queue, EXTRACT(EPOCH FROM now() - min(scheduled_at))::float8 FROM river_job WHERE state = 'available' GROUP BY queue`
	if !c.st.Postgres {
		age = `SELECT queue, (julianday('now') - julianday(min(scheduled_at))) * 86400.0 FROM river_job WHERE state = 'available' GROUP BY queue`
	}
	arows, err := c.st.DB.QueryContext(ctx, age)
	if err != nil {
		return fmt.Errorf("river job age: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var queue string
		var secs sql.NullFloat64
		if err := arows.Scan(&queue, &secs); err != nil {
			return fmt.Errorf("river job age: %w", err)
		}
		ch <- prometheus.MustNewConstMetric(jobsAgeDesc, prometheus.GaugeValue, max(secs.Float64, 0), queue)
		delete(queues, queue)
	}
	for q := range queues {
		ch <- prometheus.MustNewConstMetric(jobsAgeDesc, prometheus.GaugeValue, 0, q)
	}
	return arows.Err()
}

// audit reads the chain's lag and its latest checkpoint.
func (c stateCollector) audit(ctx context.Context, ch chan<- prometheus.Metric) error {
	var unchained int64
	if err := c.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE seq IS NULL`).Scan(&unchained); err != nil {
		return fmt.Errorf("audit lag: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(auditLagDesc, prometheus.GaugeValue, float64(unchained))
	// Checkpoints are appended in order: the highest id is the latest.
	var at time.Time
	switch err := c.st.DB.QueryRowContext(ctx, `SELECT at FROM audit_checkpoints ORDER BY id DESC LIMIT 1`).Scan(&at); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("audit checkpoint age: %w", err)
	default:
		ch <- prometheus.MustNewConstMetric(checkpointAgeDesc, prometheus.GaugeValue, max(time.Since(at).Seconds(), 0))
	}
	return nil
}

func (c stateCollector) provisioning(ctx context.Context, ch chan<- prometheus.Metric) error {
	if c.st.Provisioning == nil {
		return nil
	}
	n, err := c.st.Provisioning(ctx)
	if err != nil {
		return fmt.Errorf("provisioning queue: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(provisioningDesc, prometheus.GaugeValue, float64(n))
	return nil
}
