package audit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
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
	return &Feed{db: d, log: log, subs: map[chan struct{}]struct{}{}}
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

// Filter narrows a subscriber's events (nil: all visible events).
type FeedFilter func(*ent.AuditEventQuery) (*ent.AuditEventQuery, error)

// Subscribe returns the events with seq > afterSeq visible to the viewer
// in ctx and matching filter, then the ones chained later, until ctx ends.
func (f *Feed) Subscribe(ctx context.Context, afterSeq int64, filter FeedFilter) (<-chan *ent.AuditEvent, error) {
	if afterSeq < 0 {
		return nil, apperr.Invalid("afterSeq", "must not be negative")
	}
	// Fail fast on authorization and filter errors, before streaming.
	if _, err := f.page(ctx, afterSeq, afterSeq, filter); err != nil {
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
				evs, err := f.page(ctx, cursor, head, filter)
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

// page reads up to feedPage events with after < seq <= head in seq order.
func (f *Feed) page(ctx context.Context, after, head int64, filter FeedFilter) ([]*ent.AuditEvent, error) {
	q := f.db.Client.AuditEvent.Query().Where(auditevent.SeqGT(after), auditevent.SeqLTE(head))
	if filter != nil {
		var err error
		if q, err = filter(q); err != nil {
			return nil, apperr.Invalid("where", "%v", err)
		}
	}
	evs, err := q.Order(ent.Asc(auditevent.FieldSeq)).Limit(feedPage).All(ctx)
	if err != nil {
		return nil, apperr.About(err, "audit event")
	}
	return evs, nil
}
