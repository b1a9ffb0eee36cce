package archive

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditarchive"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/viewer"
)

// Service is the archive as the API and the server see it: the batch list,
// an on-demand run, the periodic run, and verification across archive and
// hot. Everything but Run is for operators. A Service without a store
// (archiving not configured) lists the batches already recorded and
// answers UNAVAILABLE to a run.
type Service struct {
	db        *db.DB
	archiver  *Archiver // nil: not configured
	store     Store
	prefix    string
	retention time.Duration
	log       *slog.Logger
}

// NewService returns the archive service; store may be nil.
func NewService(d *db.DB, store Store, key *audit.SigningKey, prefix string, retention time.Duration, log *slog.Logger) (*Service, error) {
	s := &Service{db: d, store: store, prefix: prefix, retention: retention, log: log}
	if prefix == "" {
		s.prefix = DefaultPrefix
	}
	if store != nil {
		a, err := New(d, store, key, prefix, log)
		if err != nil {
			return nil, err
		}
		s.archiver = a
	}
	return s, nil
}

// Configured reports whether an object store is set.
func (s *Service) Configured() bool { return s.archiver != nil }

// Batches lists the recorded archive batches, newest first (operators
// only: the AuditArchive schema's policy denies everybody else).
func (s *Service) Batches(ctx context.Context, limit int) ([]*ent.AuditArchive, error) {
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	rows, err := s.db.Client.AuditArchive.Query().Order(ent.Desc(auditarchive.FieldStartSeq)).Limit(limit).All(ctx)
	return rows, apperr.About(err, "audit archive")
}

// RunNow archives what is due (operators), recording the request in the
// audit trail first. It manages its own transactions.
func (s *Service) RunNow(ctx context.Context) (*Result, error) {
	// An action, not an entity: the run records its request and then works
	// as the archiver, so the operator check cannot live in a schema.
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	if s.archiver == nil {
		return nil, apperr.New(apperr.Unavailable, "audit archive storage is not configured")
	}
	if err := db.WithTx(ctx, s.db.Client, func(ctx context.Context) error {
		return audit.Record(ctx, audit.Event{Action: "audit.archive_requested", ResourceType: "audit"})
	}); err != nil {
		return nil, err
	}
	r, err := s.archiver.RunOnce(ctx, Options{Retention: s.retention})
	if errors.Is(err, ErrBusy) {
		return nil, apperr.Conflictf("an archive run is already in progress")
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// Run archives what is due every interval until ctx ends (no-op when not
// configured). The server runs Sweep as a periodic job instead, once per
// interval across replicas; Run serves a single process without a job
// engine.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	if s.archiver == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "audit archive run failed", "err", err)
		}
	}
}

// Sweep archives what is due, as the archiver (no-op when not configured).
// A run already in progress elsewhere (ErrBusy) is not an error: that run
// archives what is due.
func (s *Service) Sweep(ctx context.Context) error {
	if s.archiver == nil {
		return nil
	}
	r, err := s.archiver.RunOnce(viewer.SystemContext(ctx), Options{Retention: s.retention})
	switch {
	case errors.Is(err, ErrBusy):
		return nil
	case err != nil:
		return err
	case r.Events > 0:
		s.log.InfoContext(ctx, "audit events archived", "events", r.Events, "batches", len(r.Batches))
	}
	return nil
}

// Verify verifies the archive followed by the hot chain when a store is
// configured, the hot chain alone otherwise.
func (s *Service) Verify(ctx context.Context, keys []ed25519.PublicKey) (audit.Report, error) {
	if s.store == nil {
		return audit.Verify(ctx, audit.DBSource(s.db), keys)
	}
	return VerifyArchiveThenHot(ctx, s.store, s.prefix, audit.DBSource(s.db), keys)
}
