package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/dezky/platform/ent/webhookdelivery"
	"github.com/dezky/platform/ent/webhookendpoint"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/viewer"
)

// Defaults of Config.
const (
	DefaultHorizon      = 24 * time.Hour
	DefaultBackoffBase  = 5 * time.Second
	DefaultBackoffMax   = 2 * time.Hour
	DefaultTimeout      = 10 * time.Second
	DefaultPollInterval = 2 * time.Second
	DefaultBudget       = 20 * time.Second
	// Queue is the river queue of deliveries, apart from the server's
	// other jobs so deliveries never wait behind them (nor they behind
	// deliveries).
	Queue = "webhooks"
	// DefaultWorkers is how many endpoints one replica delivers to at
	// once on PostgreSQL.
	DefaultWorkers = 32
	// SQLiteWorkers is the default on SQLite, whose single writer would
	// otherwise keep the API's own writes waiting.
	SQLiteWorkers = 4
)

// batch is how many events one read of an endpoint's backlog returns.
const batch = 100

// Config configures a Dispatcher.
type Config struct {
	Client *ent.Client
	Jobs   *jobs.Engine
	Sealer *Sealer
	Log    *slog.Logger
	// AllowPrivate allows loopback, link-local and private targets.
	AllowPrivate bool
	// Horizon is how long an endpoint may keep failing before it is
	// disabled (default DefaultHorizon).
	Horizon time.Duration
	// BackoffBase and BackoffMax shape the retry delays: base, 2×base,
	// 4×base, … capped at max.
	BackoffBase, BackoffMax time.Duration
	// Timeout bounds one delivery request (default DefaultTimeout).
	Timeout time.Duration
	// PollInterval is how often every replica looks for endpoints behind
	// the chain head without having been notified (default
	// DefaultPollInterval).
	PollInterval time.Duration
	// Budget is how long one job delivers to its endpoint before it
	// yields to the other endpoints' jobs (default DefaultBudget).
	Budget time.Duration
	// Workers is how many endpoints this replica delivers to at once
	// (default DefaultWorkers, SQLiteWorkers on SQLite).
	Workers int
	// SQLite selects the SQLite default of Workers.
	SQLite bool
}

// Dispatcher delivers the audit chain to the endpoints: the river workers
// and the loop that queues them.
type Dispatcher struct {
	cfg    Config
	http   *http.Client
	notify chan struct{}
}

// NewDispatcher registers the delivery workers and the webhooks queue
// with the engine (call before the engine starts) and returns the
// dispatcher; run its loop with Run.
func NewDispatcher(cfg Config) *Dispatcher {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = DefaultHorizon
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
		if cfg.SQLite {
			cfg.Workers = SQLiteWorkers
		}
	}
	d := &Dispatcher{
		cfg:    cfg,
		http:   NewHTTPClient(cfg.AllowPrivate, cfg.Timeout),
		notify: make(chan struct{}, 1),
	}
	cfg.Jobs.AddQueue(Queue, cfg.Workers)
	jobs.AddWorker(cfg.Jobs, &dispatchWorker{d: d})
	jobs.AddWorker(cfg.Jobs, &sendWorker{d: d})
	return d
}

// Notify tells the loop that the chain head moved (wire it to the
// chainer's OnChain). It never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// Run queues the jobs of endpoints behind the chain head when notified
// and every PollInterval, until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		if err := d.Kick(ctx); err != nil && ctx.Err() == nil {
			d.cfg.Log.WarnContext(ctx, "webhooks: queue deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.notify:
		}
	}
}

// Kick inserts the delivery job of every active endpoint whose cursor is
// behind the chain head and that has no retry pending later; an endpoint
// whose job is already queued or running is left alone (unique jobs).
func (d *Dispatcher) Kick(ctx context.Context) error {
	sys := viewer.SystemContext(ctx)
	head, err := chainHead(sys, d.cfg.Client)
	if err != nil {
		return err
	}
	now := time.Now()
	ids, err := d.cfg.Client.WebhookEndpoint.Query().Where(
		webhookendpoint.StatusEQ(webhookendpoint.StatusActive),
		webhookendpoint.CursorSeqLT(head),
		webhookendpoint.Or(webhookendpoint.NextAttemptAtIsNil(), webhookendpoint.NextAttemptAtLTE(now)),
	).IDs(sys)
	if err != nil || len(ids) == 0 {
		return err
	}
	return db.WithTx(sys, d.cfg.Client, func(ctx context.Context) error {
		for _, id := range ids {
			if err := d.cfg.Jobs.InsertTx(ctx, DispatchArgs{EndpointID: id}, dispatchOpts); err != nil {
				return err
			}
		}
		return nil
	})
}

// DispatchArgs is the job delivering an endpoint's backlog.
type DispatchArgs struct {
	EndpointID int `json:"endpoint_id"`
}

// Kind names the job kind.
func (DispatchArgs) Kind() string { return "webhook_dispatch" }

// dispatchOpts make the job unique per endpoint while it is queued,
// scheduled (a retry) or running: one endpoint, one job, seq order.
var dispatchOpts = &river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{
	ByArgs: true,
	ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled},
}}

// SendArgs is the job sending one message once (a test or a redelivery).
type SendArgs struct {
	EndpointID int    `json:"endpoint_id"`
	MessageID  string `json:"message_id"`
	// Delivery is the delivery kind: TEST or REDELIVERY.
	Delivery string `json:"delivery"`
	// Seq is the event of a redelivery (0 for a test message).
	Seq int64 `json:"seq"`
}

// Kind names the job kind.
func (SendArgs) Kind() string { return "webhook_send" }

// QueueSend inserts a send job in the transaction ctx carries.
func (d *Dispatcher) QueueSend(ctx context.Context, args SendArgs) error {
	return d.cfg.Jobs.InsertTx(ctx, args, &river.InsertOpts{Queue: Queue, MaxAttempts: 1})
}

type dispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	d *Dispatcher
}

// Timeout bounds one run: the budget plus one request.
func (w *dispatchWorker) Timeout(*river.Job[DispatchArgs]) time.Duration {
	return w.d.cfg.Budget + 2*w.d.cfg.Timeout
}

// Work delivers the endpoint's events after its cursor, in seq order.
func (w *dispatchWorker) Work(ctx context.Context, j *river.Job[DispatchArgs]) error {
	return w.d.dispatch(ctx, j.Args.EndpointID)
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	d *Dispatcher
}

// Work sends the message once and records the attempt.
func (w *sendWorker) Work(ctx context.Context, j *river.Job[SendArgs]) error {
	return w.d.send(ctx, j.Args)
}

// scopeViewer is the viewer whose audit visibility is the endpoint's
// scope, so that the audit query's own privacy rules decide what an
// endpoint may receive.
func scopeViewer(ctx context.Context, ep *ent.WebhookEndpoint) context.Context {
	v := &viewer.Viewer{Subject: "webhook-endpoint:" + strconv.Itoa(ep.ID)}
	switch {
	case ep.Scope == webhookendpoint.ScopePlatform:
		v.Operator = true
	case ep.Scope == webhookendpoint.ScopeTenant && ep.TenantID != nil:
		v.Tenants = map[int]viewer.Role{*ep.TenantID: viewer.RoleAdmin}
	case ep.Scope == webhookendpoint.ScopePartner && ep.PartnerID != nil:
		v.PartnerID = *ep.PartnerID
	}
	return viewer.NewContext(ctx, v)
}

// matches reports whether action is selected by the event types.
func matches(types []string, action string) bool {
	for _, t := range types {
		switch {
		case t == "*", t == action:
			return true
		case strings.HasSuffix(t, ".*") && strings.HasPrefix(action, strings.TrimSuffix(t, "*")):
			return true
		}
	}
	return false
}

// dispatch delivers an endpoint's backlog until it is empty, an attempt
// fails (the job is snoozed until the retry) or the budget is spent (the
// job yields and runs again at once).
func (d *Dispatcher) dispatch(ctx context.Context, id int) error {
	sys := viewer.SystemContext(ctx)
	deadline := time.Now().Add(d.cfg.Budget)
	for {
		// Read the endpoint afresh for every batch: a rotation, a change
		// of event types or a disabling applies from the next batch on.
		ep, err := d.cfg.Client.WebhookEndpoint.Get(sys, id)
		if ent.IsNotFound(err) {
			return nil // deleted
		}
		if err != nil {
			return err
		}
		if ep.Status != webhookendpoint.StatusActive {
			return nil
		}
		if ep.NextAttemptAt != nil {
			if wait := time.Until(*ep.NextAttemptAt); wait > 0 {
				return river.JobSnooze(wait)
			}
		}
		head, err := chainHead(sys, d.cfg.Client)
		if err != nil {
			return err
		}
		if head <= ep.CursorSeq {
			return nil
		}
		// Everything at or below a visible head is final (a chaining
		// transaction commits its rows at once): reading (cursor, head]
		// misses nothing.
		evs, err := d.cfg.Client.AuditEvent.Query().
			Where(auditevent.SeqGT(ep.CursorSeq), auditevent.SeqLTE(head)).
			Order(ent.Asc(auditevent.FieldSeq)).Limit(batch).All(scopeViewer(ctx, ep))
		if err != nil {
			return fmt.Errorf("webhooks: read events of endpoint %d: %w", ep.ID, err)
		}
		for _, ev := range evs {
			if !matches(ep.EventTypes, ev.Action) {
				continue
			}
			msg, err := eventMessage(ev)
			if err != nil {
				return err
			}
			ok, retry, err := d.attempt(ctx, ep, msg, webhookdelivery.KindEvent)
			if err != nil {
				return err
			}
			if !ok {
				if retry > 0 {
					return river.JobSnooze(retry)
				}
				return nil // disabled
			}
			if time.Now().After(deadline) {
				// Yield to the other endpoints' jobs; this one runs again
				// at once, after the event just delivered.
				return river.JobSnooze(0)
			}
		}
		next := head
		if len(evs) == batch {
			next = *evs[len(evs)-1].Seq
		}
		if err := d.advance(sys, ep, next); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return river.JobSnooze(0)
		}
		// Loop: the head may have moved meanwhile.
	}
}

// advance moves the endpoint's cursor forward to seq (never back).
func (d *Dispatcher) advance(ctx context.Context, ep *ent.WebhookEndpoint, seq int64) error {
	if seq <= ep.CursorSeq {
		return nil
	}
	if _, err := d.cfg.Client.WebhookEndpoint.Update().
		Where(webhookendpoint.ID(ep.ID), webhookendpoint.CursorSeqLT(seq)).SetCursorSeq(seq).Save(ctx); err != nil {
		return fmt.Errorf("webhooks: advance endpoint %d: %w", ep.ID, err)
	}
	ep.CursorSeq = seq
	return nil
}

// message is one webhook message.
type message struct {
	id   string
	typ  string
	seq  int64 // 0 for a test
	body []byte
}

// envelope is the JSON body of a message.
type envelope struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// ExportLine returns a chained event as its audit export line (see
// audit.MarshalLine): what deliveries and audit streams carry.
func ExportLine(ev *ent.AuditEvent) ([]byte, error) {
	e, err := entryOf(ev)
	if err != nil {
		return nil, err
	}
	return audit.MarshalLine(e)
}

// ChainHead returns the highest chained seq (0 for an empty chain). ctx
// must allow reading audit events (the system viewer).
func ChainHead(ctx context.Context, c *ent.Client) (int64, error) { return chainHead(ctx, c) }

// ScopeContext returns ctx with a viewer whose audit visibility is that of
// a TENANT (tenantID set), PARTNER (partnerID set) or PLATFORM (neither)
// scope: reading audit events through it applies the audit query's own
// privacy rules.
func ScopeContext(ctx context.Context, name string, tenantID, partnerID *int) context.Context {
	v := &viewer.Viewer{Subject: name}
	switch {
	case tenantID != nil:
		v.Tenants = map[int]viewer.Role{*tenantID: viewer.RoleAdmin}
	case partnerID != nil:
		v.PartnerID = *partnerID
	default:
		v.Operator = true
	}
	return viewer.NewContext(ctx, v)
}

// NewHTTPClient returns the client of outbound requests: no proxy, no
// redirects, forbidden addresses refused at dial time unless
// allowPrivate, timeout per request.
func NewHTTPClient(allowPrivate bool, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, past the address check
		DialContext:           dialer(allowPrivate),
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// eventMessage builds the message of an audit event.
func eventMessage(ev *ent.AuditEvent) (message, error) {
	line, err := ExportLine(ev)
	if err != nil {
		return message{}, err
	}
	body, err := json.Marshal(envelope{Type: ev.Action, Timestamp: ev.At.UTC().Format(time.RFC3339Nano), Data: line})
	if err != nil {
		return message{}, fmt.Errorf("webhooks: message of seq %d: %w", *ev.Seq, err)
	}
	return message{id: "msg_" + strconv.FormatInt(*ev.Seq, 10), typ: ev.Action, seq: *ev.Seq, body: body}, nil
}

// TestEventType is the type of sendTestWebhook's messages.
const TestEventType = "webhook.test"

// testMessage builds a test message.
func testMessage(ep *ent.WebhookEndpoint, id string) (message, error) {
	data, _ := json.Marshal(map[string]any{"endpointId": ep.ID, "message": "This is a test message from Dezky."})
	body, err := json.Marshal(envelope{Type: TestEventType, Timestamp: time.Now().UTC().Format(time.RFC3339Nano), Data: data})
	return message{id: id, typ: TestEventType, body: body}, err
}

// entryOf is the chain entry of an event, with the seals of its personal
// fields when it was chained in the sealed format (so the line verifies).
func entryOf(ev *ent.AuditEvent) (audit.Entry, error) {
	e := audit.Entry{
		Seq: *ev.Seq, PrevHash: ev.PrevHash, Hash: ev.Hash, At: ev.At, Source: ev.Source, ExternalID: ev.ExternalID,
		ActorType: ev.ActorType, ActorID: ev.ActorID, ActorEmail: ev.ActorEmail, ActorIP: ev.ActorIP,
		Action: ev.Action, Outcome: string(ev.Outcome), ResourceType: ev.ResourceType, ResourceID: ev.ResourceID,
		ResourceName: ev.ResourceName, TenantSlug: ev.TenantSlug, PartnerSlug: ev.PartnerSlug,
	}
	if ev.TenantID != nil {
		v := int64(*ev.TenantID)
		e.TenantID = &v
	}
	if ev.PartnerID != nil {
		v := int64(*ev.PartnerID)
		e.PartnerID = &v
	}
	if ev.Metadata != nil {
		e.Metadata, _ = json.Marshal(ev.Metadata)
	}
	if ev.Personal != nil {
		p, err := audit.ParsePersonal([]byte(*ev.Personal))
		if err != nil {
			return audit.Entry{}, fmt.Errorf("webhooks: audit event %d: %w", ev.ID, err)
		}
		e.Personal = p
	}
	return e, nil
}

// keys returns the endpoint's valid signing keys: the current secret, then
// the previous one during its grace period.
func (d *Dispatcher) keys(ep *ent.WebhookEndpoint, now time.Time) ([][]byte, error) {
	cur, err := d.cfg.Sealer.Open(ep.SecretSealed)
	if err != nil {
		return nil, fmt.Errorf("webhooks: endpoint %d: %w", ep.ID, err)
	}
	keys := [][]byte{cur}
	if ep.PreviousSecretSealed != nil && ep.PreviousSecretExpiresAt != nil && now.Before(*ep.PreviousSecretExpiresAt) {
		prev, err := d.cfg.Sealer.Open(*ep.PreviousSecretSealed)
		if err != nil {
			return nil, fmt.Errorf("webhooks: endpoint %d: %w", ep.ID, err)
		}
		keys = append(keys, prev)
	}
	return keys, nil
}

// result is the outcome of one HTTP attempt.
type result struct {
	status  int
	latency time.Duration
	err     string
}

func (r result) ok() bool { return r.err == "" }

// post sends msg to ep once.
func (d *Dispatcher) post(ctx context.Context, ep *ent.WebhookEndpoint, msg message) (result, error) {
	now := time.Now()
	keys, err := d.keys(ep, now)
	if err != nil {
		return result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(msg.body))
	if err != nil {
		return result{err: "invalid URL"}, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Dezky-Webhooks/1")
	req.Header.Set("webhook-id", msg.id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", Sign(keys, msg.id, now, msg.body))
	start := time.Now()
	rsp, err := d.http.Do(req)
	lat := time.Since(start)
	if err != nil {
		// The URL may carry a token: report the cause without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return result{latency: lat, err: truncate(err.Error(), 300)}, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(rsp.Body, 64<<10))
	rsp.Body.Close()
	r := result{status: rsp.StatusCode, latency: lat}
	if rsp.StatusCode < 200 || rsp.StatusCode > 299 {
		r.err = "HTTP " + strconv.Itoa(rsp.StatusCode)
	}
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// backoff is the delay before retry number failures (1-based).
func (d *Dispatcher) backoff(failures int) time.Duration {
	delay := d.cfg.BackoffBase
	for i := 1; i < failures && delay < d.cfg.BackoffMax; i++ {
		delay *= 2
	}
	return min(delay, d.cfg.BackoffMax)
}

// attempt delivers msg to ep once and records it. On success the cursor
// moves to the message's seq and the failures reset; on failure the retry
// is scheduled (retry > 0), or, past the horizon, the endpoint is disabled
// (retry 0) with the audit event webhook.endpoint_disabled.
func (d *Dispatcher) attempt(ctx context.Context, ep *ent.WebhookEndpoint, msg message, kind webhookdelivery.Kind) (ok bool, retry time.Duration, err error) {
	r, err := d.post(ctx, ep, msg)
	if err != nil {
		return false, 0, err
	}
	if ctx.Err() != nil {
		// Shutting down mid-request: not the receiver's failure. The
		// job runs again (river retries it) from the same cursor.
		return false, 0, ctx.Err()
	}
	sys := viewer.SystemContext(ctx)
	now := time.Now().UTC()
	err = db.WithTx(sys, d.cfg.Client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		rec := c.WebhookDelivery.Create().SetEndpointID(ep.ID).SetMessageID(msg.id).SetEventType(msg.typ).
			SetKind(kind).SetAttempt(ep.Failures + 1).SetStatusCode(r.status).
			SetLatencyMs(int(r.latency / time.Millisecond)).SetError(r.err).SetSuccess(r.ok()).SetAttemptedAt(now)
		if msg.seq > 0 {
			rec.SetEventSeq(msg.seq)
		}
		upd := c.WebhookEndpoint.UpdateOneID(ep.ID)
		if r.ok() {
			ok = true
			upd.SetCursorSeq(max(ep.CursorSeq, msg.seq)).SetFailures(0).ClearFailingSince().ClearNextAttemptAt().SetLastSuccessAt(now)
		} else {
			since := now
			if ep.FailingSince != nil {
				since = *ep.FailingSince
			}
			failures := ep.Failures + 1
			upd.SetFailures(failures).SetFailingSince(since)
			if now.Sub(since) >= d.cfg.Horizon {
				reason := fmt.Sprintf("disabled after failing since %s (%d attempts, last: %s)", since.Format(time.RFC3339), failures, r.err)
				upd.SetStatus(webhookendpoint.StatusDisabled).SetDisabledReason(reason).ClearNextAttemptAt()
				if err := record(ctx, "webhook.endpoint_disabled", ep, nil, nil, map[string]any{
					"failingSince": since.Format(time.RFC3339), "attempts": failures, "lastError": r.err,
				}); err != nil {
					return err
				}
			} else {
				retry = d.backoff(failures)
				next := now.Add(retry)
				upd.SetNextAttemptAt(next)
				rec.SetNextAttemptAt(next)
			}
		}
		if _, err := rec.Save(ctx); err != nil {
			return fmt.Errorf("webhooks: record delivery: %w", err)
		}
		saved, err := upd.Save(ctx)
		if err != nil {
			return fmt.Errorf("webhooks: update endpoint %d: %w", ep.ID, err)
		}
		*ep = *saved
		return nil
	})
	if err != nil {
		return false, 0, err
	}
	if !ok && retry == 0 {
		d.cfg.Log.Warn("webhook endpoint disabled after the retry horizon", "endpoint", ep.ID, "url", RedactURL(ep.URL))
	}
	return ok, retry, nil
}

// send delivers a test message or a redelivery once; the cursor and the
// failure count do not change.
func (d *Dispatcher) send(ctx context.Context, args SendArgs) error {
	sys := viewer.SystemContext(ctx)
	ep, err := d.cfg.Client.WebhookEndpoint.Get(sys, args.EndpointID)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var msg message
	if args.Seq > 0 {
		ev, err := d.cfg.Client.AuditEvent.Query().Where(auditevent.Seq(args.Seq)).Only(scopeViewer(ctx, ep))
		if ent.IsNotFound(err) {
			return nil // archived, or no longer visible
		}
		if err != nil {
			return err
		}
		if msg, err = eventMessage(ev); err != nil {
			return err
		}
	} else if msg, err = testMessage(ep, args.MessageID); err != nil {
		return err
	}
	msg.id = args.MessageID
	r, err := d.post(ctx, ep, msg)
	if err != nil {
		return err
	}
	rec := d.cfg.Client.WebhookDelivery.Create().SetEndpointID(ep.ID).SetMessageID(msg.id).SetEventType(msg.typ).
		SetKind(webhookdelivery.Kind(args.Delivery)).SetAttempt(1).SetStatusCode(r.status).
		SetLatencyMs(int(r.latency / time.Millisecond)).SetError(r.err).SetSuccess(r.ok())
	if msg.seq > 0 {
		rec.SetEventSeq(msg.seq)
	}
	if _, err := rec.Save(sys); err != nil {
		return fmt.Errorf("webhooks: record delivery: %w", err)
	}
	return nil
}
