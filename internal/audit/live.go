package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/lib/pq"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/predicate"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
)

// NotifyChannel is the PostgreSQL channel on which chainers announce a new
// chain head (payload: the head seq in decimal).
const NotifyChannel = "dezky_audit_chain"

// Feed streams chained events to live subscribers.
//
// A subscriber first gets every visible event with seq > afterSeq, then
// every event chained later, in seq order, each exactly once: the feed
// takes the chain head it knows, sends the events in (cursor, head] and
// moves the cursor to head. A chaining transaction commits all its rows at
// once, so nothing at or below a visible head can appear later; a
// reconnecting client that passes its last seq misses nothing. The feed
// keeps one known head for all its subscribers and wakes them when it
// moves: when this process chains (Publish), when another replica does
// (PostgreSQL LISTEN/NOTIFY, see Run), and when Run's poll of the database
// every PollInterval finds a new head.
type Feed struct {
	db  *db.DB
	log *slog.Logger

	// head is the highest chain head known to be visible.
	head atomic.Int64

	mu   sync.Mutex
	subs map[chan struct{}]struct{}

	// pages are the reads shared by subscribers of one class (see
	// sharedPage).
	pagesMu sync.Mutex
	pages   map[pageKey]*pageCall
}

// PollInterval bounds how long a subscriber can miss a wake-up (for
// example a NOTIFY lost while the listener reconnects) and how soon it
// retries after a failed read.
const PollInterval = 5 * time.Second

// feedPage is how many events one read of the feed returns.
const feedPage = 200

// NewFeed returns a Feed over d.
func NewFeed(d *db.DB, log *slog.Logger) *Feed {
	if log == nil {
		log = slog.Default()
	}
	return &Feed{db: d, log: log, subs: map[chan struct{}]struct{}{}, pages: map[pageKey]*pageCall{}}
}

// Publish announces that the chain head moved (wire it to the Chainer's
// OnChain). It wakes this process's subscribers and, on PostgreSQL,
// notifies the other replicas.
func (f *Feed) Publish(head int64) {
	f.advance(head)
	if f.db.IsPostgres() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := f.db.SQL.ExecContext(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, strconv.FormatInt(head, 10)); err != nil {
			f.log.Warn("audit feed: notify", "err", err)
		}
	}
}

// advance records head as visible and wakes the subscribers when it is
// past the known head.
func (f *Feed) advance(head int64) {
	for {
		cur := f.head.Load()
		if head <= cur {
			return
		}
		if f.head.CompareAndSwap(cur, head) {
			break
		}
	}
	f.wake()
}

// refresh reads the head from the database and advances to it.
func (f *Feed) refresh(ctx context.Context) {
	head, _, err := Head(ctx, f.db)
	if err != nil {
		if ctx.Err() == nil {
			f.log.WarnContext(ctx, "audit feed: read head", "err", err)
		}
		return
	}
	f.advance(head)
}

func (f *Feed) wake() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Run follows the chain head until ctx ends, then returns nil: it listens
// for other replicas' heads (PostgreSQL LISTEN/NOTIFY) and reads the head
// from the database every PollInterval, once for all subscribers.
func (f *Feed) Run(ctx context.Context) error {
	poll := time.NewTicker(PollInterval)
	defer poll.Stop()
	var notify <-chan *pq.Notification
	if f.db.IsPostgres() {
		l := pq.NewListener(f.db.URL(), time.Second, 30*time.Second, func(ev pq.ListenerEventType, err error) {
			if err != nil {
				f.log.Warn("audit feed: listener", "event", ev, "err", err)
			}
		})
		defer l.Close()
		if err := l.Listen(NotifyChannel); err != nil {
			return fmt.Errorf("audit feed: listen: %w", err)
		}
		notify = l.Notify
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			f.refresh(ctx)
		case n := <-notify:
			// A nil notification means the connection was re-established:
			// something may have been missed, read the head.
			if n == nil {
				f.refresh(ctx)
				continue
			}
			head, err := strconv.ParseInt(n.Extra, 10, 64)
			if err != nil {
				f.refresh(ctx)
				continue
			}
			f.advance(head)
		}
	}
}

// Subscribe returns the events with seq > afterSeq visible to the viewer
// in ctx and matching where (nil: all visible events), then the ones
// chained later, until ctx ends.
//
// Subscribers who see the same events (the same reach under the audit
// events' privacy rule, rule.AuditReach, and the same filter, compared by
// the SQL it writes) share their reads: when the head moves, the first of
// them to ask for the new events reads them, under its own viewer, and
// the others at the same cursor are given that page.
func (f *Feed) Subscribe(ctx context.Context, afterSeq int64, where *ent.AuditEventWhereInput) (<-chan *ent.AuditEvent, error) {
	if afterSeq < 0 {
		return nil, apperr.Invalid("afterSeq", "must not be negative")
	}
	pred, err := wherePredicate(where)
	if err != nil {
		return nil, err
	}
	sub := subscriber{class: rule.AuditReach(viewer.FromContext(ctx)) + "\x00" + f.filterKey(pred), pred: pred}
	// Fail fast on authorization errors, before streaming.
	if _, err := f.page(ctx, afterSeq, afterSeq, pred); err != nil {
		return nil, err
	}
	wake := make(chan struct{}, 1)
	f.mu.Lock()
	f.subs[wake] = struct{}{}
	f.mu.Unlock()
	f.refresh(ctx)
	out := make(chan *ent.AuditEvent, 16)
	go func() {
		defer close(out)
		defer func() {
			f.mu.Lock()
			delete(f.subs, wake)
			f.mu.Unlock()
		}()
		tick := time.NewTicker(PollInterval)
		defer tick.Stop()
		cursor := afterSeq
		for {
			head := f.head.Load()
			for cursor < head {
				evs, err := f.sharedPage(ctx, sub, cursor, head)
				if err != nil {
					if ctx.Err() == nil {
						f.log.WarnContext(ctx, "audit feed: read events", "err", err)
					}
					break
				}
				for _, e := range evs {
					select {
					case out <- e:
					case <-ctx.Done():
						return
					}
				}
				if len(evs) < feedPage {
					cursor = head
				} else {
					cursor = *evs[len(evs)-1].Seq
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-tick.C:
			}
		}
	}()
	return out, nil
}

// wherePredicate returns the predicate of where (nil for none).
func wherePredicate(where *ent.AuditEventWhereInput) (predicate.AuditEvent, error) {
	if where == nil {
		return nil, nil
	}
	p, err := where.P()
	if errors.Is(err, ent.ErrEmptyAuditEventWhereInput) {
		return nil, nil
	}
	if err != nil {
		return nil, apperr.Invalid("where", "%v", err)
	}
	return p, nil
}

// filterKey is the SQL and arguments pred writes: two filters with the
// same key select the same events.
func (f *Feed) filterKey(pred predicate.AuditEvent) string {
	if pred == nil {
		return ""
	}
	sel := entsql.Dialect(f.db.Dialect).Select("*").From(entsql.Table(auditevent.Table))
	pred(sel)
	query, args := sel.Query()
	b, err := json.Marshal(args)
	if err != nil {
		// Arguments that do not marshal: a key of this subscriber alone.
		return fmt.Sprintf("%s\x00%p", query, &pred)
	}
	return query + "\x00" + string(b)
}

// subscriber is what sharing a page needs of one subscription: the class
// of subscribers who see the same events and its filter.
type subscriber struct {
	class string
	pred  predicate.AuditEvent
}

// pageKey names one page of one class of subscribers.
type pageKey struct {
	class       string
	after, head int64
}

// pageCall is one read of a page, shared by the subscribers asking for it.
type pageCall struct {
	done chan struct{}
	evs  []*ent.AuditEvent
	err  error
}

// sharedPage returns the page (after, head] of sub's class: the read of
// another subscriber of the class at the same cursor when there is one,
// running or done, else its own. Pages are kept until the known head
// moves past them; a failed read is not kept.
func (f *Feed) sharedPage(ctx context.Context, sub subscriber, after, head int64) ([]*ent.AuditEvent, error) {
	k := pageKey{class: sub.class, after: after, head: head}
	f.pagesMu.Lock()
	c, ok := f.pages[k]
	if !ok {
		cur := f.head.Load()
		for old, oc := range f.pages {
			if old.head < cur && isDone(oc) {
				delete(f.pages, old)
			}
		}
		c = &pageCall{done: make(chan struct{})}
		f.pages[k] = c
	}
	f.pagesMu.Unlock()
	if !ok {
		// The read outlives this subscriber's context: others may wait
		// for it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		c.evs, c.err = f.page(rctx, after, head, sub.pred)
		cancel()
		if c.err != nil {
			f.pagesMu.Lock()
			delete(f.pages, k)
			f.pagesMu.Unlock()
		}
		close(c.done)
	}
	select {
	case <-c.done:
		return c.evs, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func isDone(c *pageCall) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// page reads up to feedPage events with after < seq <= head in seq order,
// as the viewer in ctx sees them.
func (f *Feed) page(ctx context.Context, after, head int64, pred predicate.AuditEvent) ([]*ent.AuditEvent, error) {
	q := f.db.Client.AuditEvent.Query().Where(auditevent.SeqGT(after), auditevent.SeqLTE(head))
	if pred != nil {
		q = q.Where(pred)
	}
	evs, err := q.Order(ent.Asc(auditevent.FieldSeq)).Limit(feedPage).All(ctx)
	if err != nil {
		return nil, apperr.About(err, "audit event")
	}
	return evs, nil
}
