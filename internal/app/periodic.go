package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/archive"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/ingest"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/maildomains"
	"github.com/dezky/platform/internal/metrics"
	"github.com/dezky/platform/internal/server"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/internal/webhooks"
	"github.com/dezky/platform/plugins/sdk"
)

// IdempotencyExpiryInterval is how often expired idempotency keys are
// deleted.
const IdempotencyExpiryInterval = time.Hour

// expireIdempotencyKeysArgs is the periodic job deleting the idempotency
// keys past their window.
type expireIdempotencyKeysArgs struct{}

// Kind names the job kind.
func (expireIdempotencyKeysArgs) Kind() string { return "expire_idempotency_keys" }

type expireIdempotencyKeysWorker struct {
	river.WorkerDefaults[expireIdempotencyKeysArgs]
	client *ent.Client
	log    *slog.Logger
}

// Work deletes every expired idempotency key.
func (w *expireIdempotencyKeysWorker) Work(ctx context.Context, _ *river.Job[expireIdempotencyKeysArgs]) error {
	n, err := server.ExpireIdempotencyKeys(viewer.SystemContext(ctx), w.client, time.Now())
	if err != nil {
		return fmt.Errorf("expire idempotency keys: %w", err)
	}
	if n > 0 {
		w.log.InfoContext(ctx, "expired idempotency keys", "deleted", n)
	}
	return nil
}

// pruneWebhookDeliveriesArgs is the periodic job deleting webhook delivery
// attempts past webhooks.DeliveryRetention.
type pruneWebhookDeliveriesArgs struct{}

// Kind names the job kind.
func (pruneWebhookDeliveriesArgs) Kind() string { return "prune_webhook_deliveries" }

type pruneWebhookDeliveriesWorker struct {
	river.WorkerDefaults[pruneWebhookDeliveriesArgs]
	client *ent.Client
	log    *slog.Logger
}

// Work deletes the delivery attempts past their retention.
func (w *pruneWebhookDeliveriesWorker) Work(ctx context.Context, _ *river.Job[pruneWebhookDeliveriesArgs]) error {
	n, err := webhooks.PruneDeliveries(viewer.SystemContext(ctx), w.client, time.Now())
	if err != nil {
		return err
	}
	if n > 0 {
		w.log.InfoContext(ctx, "pruned webhook deliveries", "deleted", n)
	}
	return nil
}

// archiveAuditArgs is the periodic job archiving the audit events past
// their retention.
type archiveAuditArgs struct{}

// Kind names the job kind.
func (archiveAuditArgs) Kind() string { return "archive_audit_events" }

type archiveAuditWorker struct {
	river.WorkerDefaults[archiveAuditArgs]
	archives *archive.Service
}

// Work archives what is due.
func (w *archiveAuditWorker) Work(ctx context.Context, _ *river.Job[archiveAuditArgs]) error {
	return w.archives.Sweep(ctx)
}

// ingestArgs is the periodic job pulling one source's upstream events
// into the audit trail.
type ingestArgs struct {
	Source string `json:"source"`
}

// Kind names the job kind.
func (ingestArgs) Kind() string { return "ingest_audit_events" }

type ingestWorker struct {
	river.WorkerDefaults[ingestArgs]
	ingestor *ingest.Ingestor
	log      *slog.Logger
	metrics  *metrics.Metrics
}

// Work reads the source's new events (a source without a plugin has
// nothing to read).
func (w *ingestWorker) Work(ctx context.Context, j *river.Job[ingestArgs]) error {
	tick := w.ingestor.IngestIdentity
	if j.Args.Source == ingest.SourceStorage {
		tick = w.ingestor.IngestStorage
	}
	r, err := tick(ctx)
	switch {
	case sdk.IsUnsupported(err):
		return nil
	case err != nil:
		return fmt.Errorf("ingest %s: %w", j.Args.Source, err)
	}
	w.metrics.Ingested(j.Args.Source, r.Read, r.Written)
	if r.Written > 0 {
		w.log.InfoContext(ctx, "audit events ingested", "source", j.Args.Source, "read", r.Read, "written", r.Written)
	}
	return nil
}

// checkpointArgs is the periodic job signing a checkpoint of the audit
// chain's head.
type checkpointArgs struct{}

// Kind names the job kind.
func (checkpointArgs) Kind() string { return "audit_checkpoint" }

type checkpointWorker struct {
	river.WorkerDefaults[checkpointArgs]
	checkpoints *audit.Checkpointer
}

// Work checkpoints the head unless it has a checkpoint already.
func (w *checkpointWorker) Work(ctx context.Context, _ *river.Job[checkpointArgs]) error {
	return w.checkpoints.CheckpointInterval(ctx)
}

// registerPeriodic registers the server's periodic jobs with the engine;
// each runs once per period across replicas.
func registerPeriodic(e *jobs.Engine, cfg *ServeConfig, client *ent.Client, checkpoints *audit.Checkpointer,
	archives *archive.Service, ingestor *ingest.Ingestor, ingesting bool, m *metrics.Metrics) {
	jobs.AddWorker(e, &checkpointWorker{checkpoints: checkpoints})
	e.AddPeriodic(checkpoints.Interval(), checkpointArgs{}, false)
	jobs.AddWorker(e, &expireIdempotencyKeysWorker{client: client, log: cfg.Log})
	e.AddPeriodic(IdempotencyExpiryInterval, expireIdempotencyKeysArgs{}, true)
	jobs.AddWorker(e, &pruneWebhookDeliveriesWorker{client: client, log: cfg.Log})
	e.AddPeriodic(IdempotencyExpiryInterval, pruneWebhookDeliveriesArgs{}, true)
	if ingesting {
		jobs.AddWorker(e, &ingestWorker{ingestor: ingestor, log: cfg.Log, metrics: m})
		e.AddPeriodic(ingest.DefaultIdentityInterval, ingestArgs{Source: ingest.SourceIdentity}, true)
		e.AddPeriodic(ingest.DefaultStorageInterval, ingestArgs{Source: ingest.SourceStorage}, true)
	}
	if archives.Configured() {
		jobs.AddWorker(e, &archiveAuditWorker{archives: archives})
		e.AddPeriodic(cfg.ArchiveInterval, archiveAuditArgs{}, false)
	}
}

// DefaultMailDomainRecheckInterval is how often every mail domain's DNS
// records are checked again when ServeConfig sets no interval.
const DefaultMailDomainRecheckInterval = 10 * time.Minute

// recheckMailDomainsArgs is the periodic job checking every mail domain's
// DNS records again (a verified domain whose records went away turns
// FAILING; a pending one whose records appeared, VERIFIED).
type recheckMailDomainsArgs struct{}

// Kind names the job kind.
func (recheckMailDomainsArgs) Kind() string { return "recheck_mail_domains" }

type recheckMailDomainsWorker struct {
	river.WorkerDefaults[recheckMailDomainsArgs]
	domains *maildomains.Service
	log     *slog.Logger
}

// Work rechecks every mail domain.
func (w *recheckMailDomainsWorker) Work(ctx context.Context, _ *river.Job[recheckMailDomainsArgs]) error {
	n, err := w.domains.RecheckAll(viewer.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("recheck mail domains: %w", err)
	}
	if n > 0 {
		w.log.InfoContext(ctx, "mail domains changed status", "domains", n)
	}
	return nil
}

// queueNow inserts one job in a transaction of its own, for start-up work
// that must not wait for river's leader election (which runs the periodic
// jobs, and can take a while on a busy machine).
func queueNow(ctx context.Context, client *ent.Client, e *jobs.Engine, args river.JobArgs) error {
	txCtx, tx, err := db.BeginTx(ctx, client)
	if err != nil {
		return fmt.Errorf("queue %s: %w", args.Kind(), err)
	}
	if err := e.InsertTx(txCtx, args, nil); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("queue %s: %w", args.Kind(), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("queue %s: %w", args.Kind(), err)
	}
	return nil
}

// registerMailDomainRecheck registers the periodic recheck of mail domains.
func registerMailDomainRecheck(e *jobs.Engine, cfg *ServeConfig, domains *maildomains.Service) {
	jobs.AddWorker(e, &recheckMailDomainsWorker{domains: domains, log: cfg.Log})
	// Not at start: every start queues one recheck itself (queueNow).
	e.AddPeriodic(cfg.MailDomainRecheckInterval, recheckMailDomainsArgs{}, false)
}
