package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/db"
)

// chainLockID is the PostgreSQL advisory lock key that admits one chainer
// at a time per database ("dezkyc").
const chainLockID int64 = 0x64657a6b7963

// Defaults of a Chainer.
const (
	DefaultSweep      = 2 * time.Second
	DefaultChainBatch = 500
)

// ChainerOptions configure a Chainer; zero values take the defaults.
type ChainerOptions struct {
	// Sweep is the period of the sweep that chains rows committed by other
	// processes (or whose kick was missed).
	Sweep time.Duration
	// Batch is the most rows linked in one transaction.
	Batch int
	// OnChain, when set, is called after every committed batch with the new
	// head seq (for example Checkpointer.Observe).
	OnChain func(head int64)
	Logger  *slog.Logger
}

// Chainer links unchained audit events (seq NULL) into the chain. Any number
// of Chainers, in any number of processes, may run against one database:
// linking happens in a transaction that first takes the database's chain
// lock (PostgreSQL: pg_advisory_xact_lock; SQLite: the single writer lock),
// so exactly one chainer extends the head at a time and the chain never forks
// or gaps. The unique index on seq backs this up.
type Chainer struct {
	db   *db.DB
	opts ChainerOptions
	kick chan struct{}
	mu   sync.Mutex // one batch at a time within this process
	// sealedFrom caches the recorded SealedFromSeq (0: not read yet); it
	// never changes once recorded.
	sealedFrom int64
}

// NewChainer returns a Chainer for d.
func NewChainer(d *db.DB, opts ChainerOptions) *Chainer {
	if opts.Sweep <= 0 {
		opts.Sweep = DefaultSweep
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultChainBatch
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Chainer{db: d, opts: opts, kick: make(chan struct{}, 1)}
}

// Kick asks a running Run loop to chain now. It never blocks. Record kicks
// every running Chainer of the process after the change's transaction
// commits.
func (c *Chainer) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run chains pending events on every kick and every sweep until ctx ends,
// then returns nil. Errors of a round are logged and retried on the next.
func (c *Chainer) Run(ctx context.Context) error {
	register(c)
	defer unregister(c)
	t := time.NewTicker(c.opts.Sweep)
	defer t.Stop()
	for {
		if _, err := c.ChainPending(ctx); err != nil && ctx.Err() == nil {
			c.opts.Logger.WarnContext(ctx, "audit chain round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.kick:
		case <-t.C:
		}
	}
}

// ChainPending links every unchained event visible now and returns how many
// it linked.
func (c *Chainer) ChainPending(ctx context.Context) (int, error) {
	total := 0
	for {
		n, head, err := c.chainBatch(ctx)
		if err != nil {
			return total, err
		}
		total += n
		if n > 0 && c.opts.OnChain != nil {
			c.opts.OnChain(head)
		}
		if n < c.opts.Batch {
			return total, nil
		}
	}
}

// chainBatch links up to Batch unchained rows, in id order, after the head,
// in one transaction under the chain lock.
func (c *Chainer) chainBatch(ctx context.Context) (n int, head int64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("audit: chain: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if c.db.IsPostgres() {
		if _, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, chainLockID); err != nil {
			return 0, 0, fmt.Errorf("audit: chain: lock: %w", err)
		}
	}
	head, headHash, err := chainHead(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	size, err := treeSize(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	tree, err := newTreeAppender(ctx, tx, c.db.Dialect, size)
	if err != nil {
		return 0, 0, err
	}
	withTree := true
	if err = catchUpTree(ctx, tx, c.db, tree, head); errors.Is(err, errTreeGap) {
		c.opts.Logger.WarnContext(ctx, "audit chain continues without the Merkle tree", "err", err)
		withTree, tree.rows, err = false, nil, nil
	}
	if err != nil {
		return 0, 0, err
	}
	sealedFrom, recorded := c.sealedFrom, c.sealedFrom > 0
	if !recorded {
		if sealedFrom, recorded, err = sealedFromSeq(ctx, tx); err != nil {
			return 0, 0, err
		}
		if !recorded {
			// The first events chained by this release start the sealed
			// format; recorded below with them.
			sealedFrom = head + 1
		}
	}
	q, args := selectEntries(c.db).Where(entsql.IsNull("seq")).OrderBy("id").Limit(c.opts.Batch).Query()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, 0, fmt.Errorf("audit: chain: read pending: %w", err)
	}
	type link struct {
		id         int64
		prev, hash string
		seq        int64
		personal   []byte // nil: legacy format
	}
	var links []link
	for rows.Next() {
		id, e, err := scanEntry(rows)
		if err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("audit: chain: %w", err)
		}
		head++
		e.Seq, e.PrevHash = head, headHash
		var personal []byte
		if head >= sealedFrom {
			if err := sealEntry(&e, rand.Reader); err != nil {
				rows.Close()
				return 0, 0, err
			}
			personal = MarshalPersonal(e.Personal)
		}
		canon, err := Canonical(e)
		if err != nil {
			rows.Close()
			return 0, 0, err
		}
		sum := sha256.Sum256(canon)
		h := hex.EncodeToString(sum[:])
		if withTree {
			if err := tree.add(tlog.RecordHash(canon)); err != nil {
				rows.Close()
				return 0, 0, err
			}
		}
		links = append(links, link{id: id, prev: headHash, hash: h, seq: head, personal: personal})
		headHash = h
	}
	if err = rows.Close(); err != nil {
		return 0, 0, fmt.Errorf("audit: chain: read pending: %w", err)
	}
	if err = rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("audit: chain: read pending: %w", err)
	}
	if len(links) == 0 {
		if len(tree.rows) > 0 { // the tree caught up with events chained before it existed
			if err = tree.flush(); err != nil {
				return 0, 0, err
			}
			if err = tx.Commit(); err != nil {
				return 0, 0, fmt.Errorf("audit: chain: commit: %w", err)
			}
			return 0, head, nil
		}
		return 0, head, tx.Rollback()
	}
	if !recorded {
		if err = recordSealedFrom(ctx, tx, c.db.Dialect, sealedFrom); err != nil {
			return 0, 0, err
		}
	}
	for _, l := range links {
		up := entsql.Dialect(c.db.Dialect).Update("audit_events").
			Set("seq", l.seq).Set("prev_hash", l.prev).Set("hash", l.hash)
		if l.personal != nil {
			up.Set("personal", string(l.personal))
		}
		stmt, args := up.Where(entsql.And(entsql.EQ("id", l.id), entsql.IsNull("seq"))).Query()
		res, err := tx.ExecContext(ctx, stmt, args...)
		if err != nil {
			return 0, 0, fmt.Errorf("audit: chain: link seq %d: %w", l.seq, err)
		}
		if k, err := res.RowsAffected(); err != nil || k != 1 {
			return 0, 0, fmt.Errorf("audit: chain: link seq %d: row %d changed under the chain lock", l.seq, l.id)
		}
	}
	if err = tree.flush(); err != nil {
		return 0, 0, err
	}
	if err = tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("audit: chain: commit: %w", err)
	}
	c.sealedFrom = sealedFrom
	return len(links), head, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// chainHead returns the seq and hash of the chain's last event (0, "" when
// the chain is empty).
func chainHead(ctx context.Context, q querier) (int64, string, error) {
	var seq int64
	var hash sql.NullString
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit: read chain head: %w", err)
	}
	return seq, hash.String, nil
}

// Head returns the seq and hash of the last chained event of d (0, "" when
// nothing is chained yet).
func Head(ctx context.Context, d *db.DB) (int64, string, error) { return chainHead(ctx, d.SQL) }

// entryColumns are read by scanEntry, in this order.
var entryColumns = []string{"id", "seq", "COALESCE(prev_hash, '')", "COALESCE(hash, '')", "at", "source", "external_id",
	"actor_type", "COALESCE(actor_id, '')", "COALESCE(actor_email, '')", "COALESCE(actor_ip, '')",
	"action", "outcome", "COALESCE(resource_type, '')", "COALESCE(resource_id, '')", "COALESCE(resource_name, '')",
	"tenant_id", "COALESCE(tenant_slug, '')", "partner_id", "COALESCE(partner_slug, '')", "metadata", "personal"}

// selectEntries starts a query of the entry columns of audit_events in
// d's dialect (ent's SQL builder writes the placeholders).
func selectEntries(d *db.DB) *entsql.Selector {
	return entsql.Dialect(d.Dialect).Select(entryColumns...).From(entsql.Table("audit_events"))
}

type scanner interface{ Scan(dest ...any) error }

func scanEntry(s scanner) (int64, Entry, error) {
	var (
		id      int64
		e       Entry
		seq     sql.NullInt64
		ext     sql.NullString
		tenant  sql.NullInt64
		partner sql.NullInt64
		meta    []byte
		pers    sql.NullString
	)
	if err := s.Scan(&id, &seq, &e.PrevHash, &e.Hash, &e.At, &e.Source, &ext,
		&e.ActorType, &e.ActorID, &e.ActorEmail, &e.ActorIP,
		&e.Action, &e.Outcome, &e.ResourceType, &e.ResourceID, &e.ResourceName,
		&tenant, &e.TenantSlug, &partner, &e.PartnerSlug, &meta, &pers); err != nil {
		return 0, Entry{}, fmt.Errorf("scan audit event: %w", err)
	}
	e.Seq = seq.Int64
	if ext.Valid {
		e.ExternalID = &ext.String
	}
	if tenant.Valid {
		e.TenantID = &tenant.Int64
	}
	if partner.Valid {
		e.PartnerID = &partner.Int64
	}
	if meta != nil {
		e.Metadata = append([]byte(nil), meta...)
	}
	if pers.Valid {
		p, err := ParsePersonal([]byte(pers.String))
		if err != nil {
			return 0, Entry{}, fmt.Errorf("audit event %d: %w", id, err)
		}
		e.Personal = p
	}
	return id, e, nil
}

// running are the Chainers whose Run loop is active in this process; Record
// kicks them after its transaction commits.
var running sync.Map // *Chainer → struct{}

func register(c *Chainer)   { running.Store(c, struct{}{}) }
func unregister(c *Chainer) { running.Delete(c) }

func kickRunning() {
	running.Range(func(k, _ any) bool {
		k.(*Chainer).Kick()
		return true
	})
}

// pendingKick holds the transactions that already carry the commit hook
// installed by kickAfterCommit.
var pendingKick sync.Map // *ent.Tx → struct{}

// kickAfterCommit makes tx kick the running Chainers of the process once it
// commits. Recording many events in one transaction installs one hook.
func kickAfterCommit(tx *ent.Tx) {
	if _, loaded := pendingKick.LoadOrStore(tx, struct{}{}); loaded {
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, t *ent.Tx) error {
			err := next.Commit(ctx, t)
			pendingKick.Delete(tx)
			if err == nil {
				kickRunning()
			}
			return err
		})
	})
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, t *ent.Tx) error {
			pendingKick.Delete(tx)
			return next.Rollback(ctx, t)
		})
	})
}

// settingSealedFrom names the audit setting holding SealedFromSeq.
const settingSealedFrom = "sealed_from_seq"

// sealedFromSeq reads the recorded first seq of the sealed format.
func sealedFromSeq(ctx context.Context, q querier) (int64, bool, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT int_value FROM audit_settings WHERE name = '`+settingSealedFrom+`'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("audit: read the sealed format's first seq: %w", err)
	}
	return v, true, nil
}

// recordSealedFrom records seq as the first seq of the sealed format (under
// the chain lock, so only once).
func recordSealedFrom(ctx context.Context, tx execQuerier, dialect string, seq int64) error {
	q, args := entsql.Dialect(dialect).Insert("audit_settings").Columns("name", "int_value").
		Values(settingSealedFrom, seq).Query()
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("audit: record the sealed format's first seq: %w", err)
	}
	return nil
}

// SealedFromSeq returns the first seq chained in the sealed format, whose
// leaves commit to salted hashes of personal data; ok is false while
// nothing has been chained by a release that seals. Events before it are
// in the legacy format.
func SealedFromSeq(ctx context.Context, d *db.DB) (seq int64, ok bool, err error) {
	return sealedFromSeq(ctx, d.SQL)
}
