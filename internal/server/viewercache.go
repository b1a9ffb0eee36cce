package server

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/viewer"
)

// ViewerCache keeps the viewer of each verified token, so a caller's
// requests verify the token's signature and load its roles once, not on
// every request.
//
// An entry lives until the token expires, at most MaxAge, and ends at the
// first change to users, memberships, a partner's status or a tenant's
// status committed anywhere: the ent schema's hooks announce such changes
// in this process (viewer.OnChange); on PostgreSQL the cache's Run also
// tells the other replicas (NOTIFY on ViewerChannel) and hears theirs.
// Every change ends every entry: such changes are rare next to requests.
//
// A viewer loaded while a change commits is never kept past it: each load
// notes the cache's epoch before reading, and an entry counts only while
// the epoch it was loaded at is current. Another replica's change reaches
// this one as fast as its notification does (milliseconds); a replica
// that lost its listening connection drops every entry when it
// reconnects, and MaxAge bounds what a notification lost otherwise could
// leave behind.
type ViewerCache struct {
	db  *db.DB
	log *slog.Logger
	// MaxAge bounds how long an entry is trusted (default 5 minutes).
	MaxAge time.Duration
	// Size bounds the entries kept (default 10,000).
	Size int

	// pending holds a change Run has yet to tell the other replicas of.
	pending chan struct{}

	epoch atomic.Uint64
	// off is set when the other replicas' changes cannot be heard: then
	// nothing is kept.
	off  atomic.Bool
	mu   sync.RWMutex
	m    map[[sha256.Size]byte]cachedViewer
	stop func()
}

// ViewerChannel is the PostgreSQL channel on which replicas announce a
// change to what viewers are made of.
const ViewerChannel = "dezky_viewers"

type cachedViewer struct {
	v     *viewer.Viewer // without IP
	exp   time.Time      // the token's expiry
	until time.Time      // the entry's end: exp, at most MaxAge after the load
	epoch uint64
}

// NewViewerCache returns a cache listening to this process's changes;
// on PostgreSQL, call Run for the other replicas'. Close stops it.
func NewViewerCache(d *db.DB, log *slog.Logger) *ViewerCache {
	if log == nil {
		log = slog.Default()
	}
	c := &ViewerCache{db: d, log: log, MaxAge: 5 * time.Minute, Size: 10000, m: map[[sha256.Size]byte]cachedViewer{},
		pending: make(chan struct{}, 1)}
	c.stop = viewer.OnChange(c.changed)
	return c
}

// Close stops listening to this process's changes.
func (c *ViewerCache) Close() { c.stop() }

// changed ends every entry and has Run tell the other replicas: one
// notification for any number of changes committed meanwhile, so a
// transaction of many changes does not wait on a round trip for each.
func (c *ViewerCache) changed() {
	c.Invalidate()
	select {
	case c.pending <- struct{}{}:
	default:
	}
}

// notify tells the other replicas of a change.
func (c *ViewerCache) notify(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.db.SQL.ExecContext(ctx, `SELECT pg_notify($1, '')`, ViewerChannel); err != nil && ctx.Err() == nil {
		c.log.Warn("viewer cache: notify other replicas", "err", err)
	}
}

// Invalidate ends every entry.
func (c *ViewerCache) Invalidate() {
	c.epoch.Add(1)
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// Run hears the other replicas' changes until ctx ends (PostgreSQL; on
// SQLite it returns at once: one process owns the database). When it
// cannot listen it turns the cache off and returns the error.
func (c *ViewerCache) Run(ctx context.Context) error {
	if c.db == nil || !c.db.IsPostgres() {
		return nil
	}
	l := pq.NewListener(c.db.URL(), time.Second, 30*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			c.log.Warn("viewer cache: listener", "event", ev, "err", err)
		}
	})
	defer l.Close()
	if err := l.Listen(ViewerChannel); err != nil {
		c.off.Store(true)
		c.Invalidate()
		return fmt.Errorf("viewer cache: listen: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.pending:
			c.notify(ctx)
		case <-l.Notify:
			// A change, or (nil) a reconnection after which changes may
			// have been missed: either way every entry ends.
			c.Invalidate()
		}
	}
}

// get returns the cached viewer of key, copied with ip, and its token's
// expiry.
func (c *ViewerCache) get(key [sha256.Size]byte, ip string, now time.Time) (*viewer.Viewer, time.Time, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) || e.epoch != c.epoch.Load() || c.off.Load() {
		return nil, time.Time{}, false
	}
	v := *e.v
	v.IP = ip
	return &v, e.exp, true
}

// put keeps v, loaded at epoch for a token expiring at exp, until exp or
// MaxAge from now, whichever comes first.
func (c *ViewerCache) put(key [sha256.Size]byte, v *viewer.Viewer, exp time.Time, epoch uint64, now time.Time) {
	until := exp
	if limit := now.Add(c.MaxAge); until.After(limit) {
		until = limit
	}
	kept := *v
	kept.IP = ""
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch.Load() || c.off.Load() {
		return
	}
	if len(c.m) >= c.Size {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		// Still full: drop a tenth, chosen by map order (random).
		for k := range c.m {
			if len(c.m) < c.Size*9/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cachedViewer{v: &kept, exp: exp, until: until, epoch: epoch}
}
