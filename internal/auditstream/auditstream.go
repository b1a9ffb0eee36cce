// Package auditstream exports the audit chain continuously to a
// customer's or the operator's log collection (a SIEM).
//
// A stream has a scope, with the visibility of the audit query: TENANT
// (the events of one tenant; configured by its admins or operators) or
// PLATFORM (every event; operators). It sends the events after its cursor
// seq in batches of at most batchSize, in seq order:
//
//   - HTTP: a POST of {"stream":<id>,"events":[<audit export line>,…]}
//     (application/json) to the collector URL; a 2xx answer is a success.
//     Loopback, link-local and private targets are refused as for
//     webhooks (package webhooks), unless private targets are allowed.
//   - S3: one object per batch, <prefix>/<first seq>-<last seq>.jsonl
//     (seqs zero-padded to 20 digits; one export line per line), in the
//     stream's bucket on the server's S3-compatible endpoint (the audit
//     archive's endpoint and credentials); operators only. A retried
//     batch rewrites the same key.
//
// The cursor moves only after a batch was accepted, so a restart or
// another replica resumes exactly there: at-least-once, in seq order. A
// stream is created to resume after a given seq (default: the current
// head), and updateAuditStream can move it (resumeAfterSeq) to re-export.
// Failures are retried with exponential backoff for as long as it takes;
// the lag (chain head minus cursor) shows on each stream and in health.
// Each stream is worked by one unique river job at a time, on the
// webhooks queue, kicked when the chain head moves and every poll.
package auditstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/auditstream"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/archive"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/internal/webhooks"
)

// Config configures the Service.
type Config struct {
	Client *ent.Client
	Jobs   *jobs.Engine
	Log    *slog.Logger
	// S3 is the S3-compatible endpoint and credentials of S3 streams (the
	// audit archive's); nil: S3 streams are refused.
	S3 *archive.S3Config
	// AllowPrivate allows loopback, link-local and private collectors.
	AllowPrivate bool
	// BackoffBase and BackoffMax shape the retry delays (defaults 5s, 10m).
	BackoffBase, BackoffMax time.Duration
	// PollInterval is how often streams behind the head are looked for
	// without a notification (default 2s).
	PollInterval time.Duration
	// Timeout bounds one export request (default 30s).
	Timeout time.Duration
}

// Service manages and runs audit streams.
type Service struct {
	cfg    Config
	http   *http.Client
	notify chan struct{}
}

// New registers the export worker with the engine (before it starts)
// and returns the service; run its loop with Run.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 5 * time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 10 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	s := &Service{cfg: cfg, http: webhooks.NewHTTPClient(cfg.AllowPrivate, cfg.Timeout), notify: make(chan struct{}, 1)}
	jobs.AddWorker(cfg.Jobs, &exportWorker{s: s})
	return s
}

// CreateInput is the input of Create.
type CreateInput struct {
	Kind       auditstream.Kind
	URL        *string
	Bucket     *string
	Prefix     *string
	TenantSlug *string
	BatchSize  *int
	// StartAfterSeq: export the events after this seq (nil: after the
	// current head).
	StartAfterSeq *int
}

// UpdateInput is the input of Update; nil fields stay.
type UpdateInput struct {
	Enabled   *bool
	URL       *string
	BatchSize *int
	// ResumeAfterSeq moves the cursor (back to re-export, or ahead).
	ResumeAfterSeq *int
}

// Lag is a stream's distance behind the chain head.
type Lag struct {
	Stream *ent.AuditStream
	// Events is head seq minus the stream's cursor (chained events of any
	// scope, an upper bound of what the stream still has to export).
	Events int
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

// Create creates a stream.
func (s *Service) Create(ctx context.Context, in CreateInput) (*ent.AuditStream, error) {
	v := viewer.FromContext(ctx)
	if !v.Privileged() && len(v.TenantIDs(viewer.RoleAdmin)) == 0 {
		return nil, apperr.Forbiddenf("only tenant admins and operators manage audit streams")
	}
	c := db.Client(ctx, s.client())
	cr := c.AuditStream.Create().SetKind(in.Kind).SetScope(auditstream.ScopePlatform).SetCreatedBy(v.Subject)
	if slug := deref(in.TenantSlug); slug != "" {
		t, err := c.Tenant.Query().Where(tenant.Slug(slug)).Only(ctx)
		if err != nil {
			return nil, apperr.About(err, "tenant")
		}
		if r, _ := v.RoleIn(t.ID); !v.Privileged() && r != viewer.RoleAdmin {
			return nil, apperr.Forbiddenf("only the tenant's admins and operators manage its audit streams")
		}
		cr.SetScope(auditstream.ScopeTenant).SetTenantID(t.ID).SetTenantSlug(t.Slug)
	} else if !v.Privileged() {
		ids := v.TenantIDs(viewer.RoleAdmin)
		if len(ids) != 1 {
			return nil, apperr.Invalid("tenantSlug", "is required: you administer more than one tenant")
		}
		t, err := c.Tenant.Get(ctx, ids[0])
		if err != nil {
			return nil, apperr.About(err, "tenant")
		}
		cr.SetScope(auditstream.ScopeTenant).SetTenantID(t.ID).SetTenantSlug(t.Slug)
	}
	switch in.Kind {
	case auditstream.KindHTTP:
		u, err := webhooks.ValidateURL(deref(in.URL), s.cfg.AllowPrivate)
		if err != nil {
			return nil, err
		}
		cr.SetURL(u.String())
	case auditstream.KindS3:
		if !v.Privileged() {
			return nil, apperr.Forbiddenf("S3 streams write to the platform's storage: operators only")
		}
		if s.cfg.S3 == nil {
			return nil, apperr.Invalid("kind", "no S3-compatible endpoint is configured (--audit-archive-endpoint)")
		}
		b := deref(in.Bucket)
		if len(b) < 3 || len(b) > 63 || strings.ToLower(b) != b || strings.ContainsAny(b, " /_") {
			return nil, apperr.Invalid("bucket", "must be an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)")
		}
		p := strings.Trim(deref(in.Prefix), "/")
		if len(p) > 512 {
			return nil, apperr.Invalid("prefix", "must be at most 512 characters")
		}
		cr.SetBucket(b).SetPrefix(p)
	default:
		return nil, apperr.Invalid("kind", "must be HTTP or S3")
	}
	if in.BatchSize != nil {
		if *in.BatchSize < 1 || *in.BatchSize > 1000 {
			return nil, apperr.Invalid("batchSize", "must be between 1 and 1000")
		}
		cr.SetBatchSize(*in.BatchSize)
	}
	var out *ent.AuditStream
	err := db.WithTx(ctx, s.client(), func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		start := int64(0)
		if in.StartAfterSeq != nil {
			if *in.StartAfterSeq < 0 {
				return apperr.Invalid("startAfterSeq", "must not be negative")
			}
			start = int64(*in.StartAfterSeq)
		} else {
			// A number, not an event: read past the viewer's reach.
			h, err := webhooks.ChainHead(rule.Bypass(ctx), c)
			if err != nil {
				return err
			}
			start = h
		}
		st, err := cr.SetCursorSeq(start).Save(ctx)
		if err != nil {
			return apperr.About(err, "audit stream")
		}
		out = st
		return record(ctx, "audit_stream.created", st, map[string]any{"after": fields(st)})
	})
	if err != nil {
		return nil, apperr.About(err, "audit stream")
	}
	return out, nil
}

func (s *Service) client() *ent.Client { return s.cfg.Client }

// Stream returns a stream the caller manages, else NOT_FOUND.
func (s *Service) Stream(ctx context.Context, id int) (*ent.AuditStream, error) {
	st, err := db.Client(ctx, s.client()).AuditStream.Get(ctx, id)
	return st, apperr.About(err, "audit stream")
}

// Update changes a stream.
func (s *Service) Update(ctx context.Context, id int, in UpdateInput) (*ent.AuditStream, error) {
	var out *ent.AuditStream
	err := db.WithTx(ctx, s.client(), func(ctx context.Context) error {
		st, err := s.Stream(ctx, id)
		if err != nil {
			return err
		}
		upd := ent.FromContext(ctx).AuditStream.UpdateOne(st)
		if in.Enabled != nil {
			upd.SetEnabled(*in.Enabled)
		}
		if in.URL != nil {
			if st.Kind != auditstream.KindHTTP {
				return apperr.Invalid("url", "only HTTP streams have a URL")
			}
			u, err := webhooks.ValidateURL(*in.URL, s.cfg.AllowPrivate)
			if err != nil {
				return err
			}
			upd.SetURL(u.String())
		}
		if in.BatchSize != nil {
			if *in.BatchSize < 1 || *in.BatchSize > 1000 {
				return apperr.Invalid("batchSize", "must be between 1 and 1000")
			}
			upd.SetBatchSize(*in.BatchSize)
		}
		if in.ResumeAfterSeq != nil {
			if *in.ResumeAfterSeq < 0 {
				return apperr.Invalid("resumeAfterSeq", "must not be negative")
			}
			upd.SetCursorSeq(int64(*in.ResumeAfterSeq)).SetFailures(0).ClearNextAttemptAt()
		}
		after, err := upd.Save(ctx)
		if err != nil {
			return apperr.About(err, "audit stream")
		}
		out = after
		meta := map[string]any{"diff": audit.Diff(fields(st), fields(after))}
		if in.ResumeAfterSeq != nil {
			meta["resumeAfterSeq"] = *in.ResumeAfterSeq
		}
		return record(ctx, "audit_stream.updated", after, meta)
	})
	if err != nil {
		return nil, apperr.About(err, "audit stream")
	}
	return out, nil
}

// Delete deletes a stream and returns it as it was.
func (s *Service) Delete(ctx context.Context, id int) (*ent.AuditStream, error) {
	var out *ent.AuditStream
	err := db.WithTx(ctx, s.client(), func(ctx context.Context) error {
		st, err := s.Stream(ctx, id)
		if err != nil {
			return err
		}
		if err := ent.FromContext(ctx).AuditStream.DeleteOne(st).Exec(ctx); err != nil {
			return apperr.About(err, "audit stream")
		}
		out = st
		return record(ctx, "audit_stream.deleted", st, map[string]any{"before": fields(st)})
	})
	if err != nil {
		return nil, apperr.About(err, "audit stream")
	}
	return out, nil
}

// Lag returns how far st is behind the chain head.
func (s *Service) Lag(ctx context.Context, st *ent.AuditStream) (int, error) {
	head, err := webhooks.ChainHead(rule.Bypass(ctx), s.client())
	if err != nil {
		return 0, err
	}
	return int(max(head-st.CursorSeq, 0)), nil
}

// Lags returns the lag of every stream (operators only: health).
func (s *Service) Lags(ctx context.Context) ([]*Lag, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	sts, err := s.client().AuditStream.Query().Order(ent.Asc(auditstream.FieldID)).All(ctx)
	if err != nil {
		return nil, apperr.About(err, "audit stream")
	}
	out := make([]*Lag, 0, len(sts))
	for _, st := range sts {
		n, err := s.Lag(ctx, st)
		if err != nil {
			return nil, err
		}
		out = append(out, &Lag{Stream: st, Events: n})
	}
	return out, nil
}

func fields(st *ent.AuditStream) map[string]any {
	return map[string]any{"kind": string(st.Kind), "scope": string(st.Scope), "url": webhooks.RedactURL(st.URL),
		"bucket": st.Bucket, "prefix": st.Prefix, "batchSize": st.BatchSize, "enabled": st.Enabled}
}

func record(ctx context.Context, action string, st *ent.AuditStream, meta map[string]any) error {
	var t *ent.Tenant
	if st.TenantID != nil {
		var err error
		// The audit row names the stream's tenant whatever the actor may read.
		if t, err = ent.FromContext(ctx).Tenant.Get(rule.Bypass(ctx), *st.TenantID); err != nil {
			return fmt.Errorf("auditstream: audit scope: %w", err)
		}
	}
	return audit.Record(ctx, audit.Event{Action: action, ResourceType: "audit_stream", ResourceID: strconv.Itoa(st.ID),
		ResourceName: string(st.Kind), Tenant: t, Metadata: meta})
}

// Notify tells the loop the chain head moved; it never blocks.
func (s *Service) Notify() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Run queues the export job of every enabled stream behind the head when
// notified and every PollInterval, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		if err := s.kick(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.WarnContext(ctx, "auditstream: queue exports", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.notify:
		}
	}
}

func (s *Service) kick(ctx context.Context) error {
	sys := viewer.SystemContext(ctx)
	head, err := webhooks.ChainHead(sys, s.client())
	if err != nil {
		return err
	}
	ids, err := s.client().AuditStream.Query().Where(auditstream.Enabled(true), auditstream.CursorSeqLT(head),
		auditstream.Or(auditstream.NextAttemptAtIsNil(), auditstream.NextAttemptAtLTE(time.Now()))).IDs(sys)
	if err != nil || len(ids) == 0 {
		return err
	}
	return db.WithTx(sys, s.client(), func(ctx context.Context) error {
		for _, id := range ids {
			if err := s.cfg.Jobs.InsertTx(ctx, ExportArgs{StreamID: id}, exportOpts); err != nil {
				return err
			}
		}
		return nil
	})
}

// ExportArgs is the job exporting a stream's backlog.
type ExportArgs struct {
	StreamID int `json:"stream_id"`
}

// Kind names the job kind.
func (ExportArgs) Kind() string { return "audit_stream_export" }

var exportOpts = &river.InsertOpts{Queue: webhooks.Queue, UniqueOpts: river.UniqueOpts{
	ByArgs: true,
	ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled},
}}

type exportWorker struct {
	river.WorkerDefaults[ExportArgs]
	s *Service
}

// Work exports batches until the stream is caught up, a batch fails
// (snoozed until the retry) or a minute passed (yields).
func (w *exportWorker) Work(ctx context.Context, j *river.Job[ExportArgs]) error {
	return w.s.export(ctx, j.Args.StreamID)
}

// Timeout bounds one run.
func (w *exportWorker) Timeout(*river.Job[ExportArgs]) time.Duration {
	return time.Minute + 2*w.s.cfg.Timeout
}

func (s *Service) export(ctx context.Context, id int) error {
	sys := viewer.SystemContext(ctx)
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := s.client().AuditStream.Get(sys, id)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if !st.Enabled {
			return nil
		}
		if st.NextAttemptAt != nil {
			if wait := time.Until(*st.NextAttemptAt); wait > 0 {
				return river.JobSnooze(wait)
			}
		}
		head, err := webhooks.ChainHead(sys, s.client())
		if err != nil || head <= st.CursorSeq {
			return err
		}
		// Everything at or below a visible head is final: (cursor, head]
		// misses nothing.
		evs, err := s.client().AuditEvent.Query().Where(auditevent.SeqGT(st.CursorSeq), auditevent.SeqLTE(head)).
			Order(ent.Asc(auditevent.FieldSeq)).Limit(st.BatchSize).
			All(webhooks.ScopeContext(ctx, "audit-stream:"+strconv.Itoa(st.ID), st.TenantID, nil))
		if err != nil {
			return fmt.Errorf("auditstream: read events of stream %d: %w", st.ID, err)
		}
		next := head
		if len(evs) == st.BatchSize {
			next = *evs[len(evs)-1].Seq
		}
		if len(evs) > 0 {
			if err := s.send(ctx, st, evs); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return s.failed(sys, st, err)
			}
		}
		upd := s.client().AuditStream.Update().Where(auditstream.ID(st.ID), auditstream.CursorSeq(st.CursorSeq)).
			SetCursorSeq(next).SetFailures(0).SetLastError("").ClearNextAttemptAt()
		if len(evs) > 0 {
			upd.SetLastSuccessAt(time.Now().UTC())
		}
		if _, err := upd.Save(sys); err != nil {
			return fmt.Errorf("auditstream: advance stream %d: %w", st.ID, err)
		}
		if time.Now().After(deadline) {
			return river.JobSnooze(0)
		}
	}
}

// failed records a failed batch and snoozes the job until its retry.
func (s *Service) failed(ctx context.Context, st *ent.AuditStream, cause error) error {
	failures := st.Failures + 1
	delay := s.cfg.BackoffBase
	for i := 1; i < failures && delay < s.cfg.BackoffMax; i++ {
		delay *= 2
	}
	delay = min(delay, s.cfg.BackoffMax)
	msg := cause.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	if _, err := s.client().AuditStream.UpdateOneID(st.ID).SetFailures(failures).SetLastError(msg).
		SetNextAttemptAt(time.Now().UTC().Add(delay)).Save(ctx); err != nil {
		return fmt.Errorf("auditstream: record failure of stream %d: %w", st.ID, err)
	}
	return river.JobSnooze(delay)
}

// send exports one batch.
func (s *Service) send(ctx context.Context, st *ent.AuditStream, evs []*ent.AuditEvent) error {
	lines := make([][]byte, 0, len(evs))
	for _, ev := range evs {
		l, err := webhooks.ExportLine(ev)
		if err != nil {
			return err
		}
		lines = append(lines, l)
	}
	if st.Kind == auditstream.KindS3 {
		return s.put(ctx, st, evs, lines)
	}
	var body bytes.Buffer
	fmt.Fprintf(&body, `{"stream":%d,"events":[`, st.ID)
	body.Write(bytes.Join(lines, []byte{','}))
	body.WriteString("]}")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.URL, &body)
	if err != nil {
		return errors.New("invalid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Dezky-AuditStream/1")
	rsp, err := s.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // the URL may carry a token
			err = ue.Err
		}
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(rsp.Body, 64<<10))
	rsp.Body.Close()
	if rsp.StatusCode < 200 || rsp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", rsp.StatusCode)
	}
	return nil
}

// put writes one batch as a JSONL object.
func (s *Service) put(ctx context.Context, st *ent.AuditStream, evs []*ent.AuditEvent, lines [][]byte) error {
	if s.cfg.S3 == nil {
		return errors.New("no S3-compatible endpoint is configured")
	}
	cfg := *s.cfg.S3
	cfg.Bucket = st.Bucket
	store, err := archive.NewS3Store(cfg)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%020d-%020d.jsonl", *evs[0].Seq, *evs[len(evs)-1].Seq)
	if st.Prefix != "" {
		key = st.Prefix + "/" + key
	}
	body := append(bytes.Join(lines, []byte{'\n'}), '\n')
	if _, err := store.Put(ctx, key, body, "application/x-ndjson"); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}
