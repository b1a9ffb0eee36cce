package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"

	entsql "entgo.io/ent/dialect/sql"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/internal/db"
)

// The Merkle tree
//
// The chained events form an RFC 6962 Merkle tree in seq order: leaf n
// (0-based) is the event with seq n+1, and its leaf hash is
// tlog.RecordHash(Canonical(e)) = sha256(0x00 || canonical JSON), the same
// bytes the chain hash covers. The tree's size is the chain head's seq. Its
// hashes are stored in audit_tree_hashes in the layout of
// golang.org/x/mod/sumdb/tlog (row id = tlog.StoredHashIndex), appended by
// the chainer in the transaction that links the events: appending one leaf
// writes 1 + (trailing one bits of n) hashes and reads at most as many, so
// appending stays O(log n).

const treeTable = "audit_tree_hashes"

// LeafHash returns the Merkle leaf hash of e: tlog.RecordHash of
// Canonical(e).
func LeafHash(e Entry) (tlog.Hash, error) {
	c, err := Canonical(e)
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.RecordHash(c), nil
}

type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// hashStore reads stored tree hashes of one database (or transaction),
// serving hashes written or read earlier from memory.
type hashStore struct {
	ctx     context.Context
	q       execQuerier
	dialect string
	cache   map[int64]tlog.Hash
}

func newHashStore(ctx context.Context, q execQuerier, dialect string) *hashStore {
	return &hashStore{ctx: ctx, q: q, dialect: dialect, cache: map[int64]tlog.Hash{}}
}

// ReadHashes implements tlog.HashReader.
func (s *hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	var missing []any
	for _, i := range indexes {
		if _, ok := s.cache[i]; !ok {
			missing = append(missing, i)
		}
	}
	for len(missing) > 0 {
		chunk := missing[:min(len(missing), 500)]
		missing = missing[len(chunk):]
		q, args := entsql.Dialect(s.dialect).Select("id", "hash").From(entsql.Table(treeTable)).
			Where(entsql.In("id", chunk...)).Query()
		rows, err := s.q.QueryContext(s.ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("audit: read tree hashes: %w", err)
		}
		for rows.Next() {
			var id int64
			var b []byte
			if err := rows.Scan(&id, &b); err != nil {
				rows.Close()
				return nil, fmt.Errorf("audit: read tree hashes: %w", err)
			}
			if len(b) != tlog.HashSize {
				rows.Close()
				return nil, fmt.Errorf("audit: tree hash %d has %d bytes", id, len(b))
			}
			s.cache[id] = tlog.Hash(b)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("audit: read tree hashes: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("audit: read tree hashes: %w", err)
		}
	}
	out := make([]tlog.Hash, len(indexes))
	for k, i := range indexes {
		h, ok := s.cache[i]
		if !ok {
			return nil, fmt.Errorf("audit: tree hash %d is missing", i)
		}
		out[k] = h
	}
	return out, nil
}

// treeSize returns the number of leaves stored in the tree: the n whose
// tlog.StoredHashCount is the number of stored hashes (the largest stored
// index + 1, as hashes are only ever appended).
func treeSize(ctx context.Context, q querier) (int64, error) {
	var maxID sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(id) FROM `+treeTable).Scan(&maxID); err != nil {
		return 0, fmt.Errorf("audit: read tree size: %w", err)
	}
	if !maxID.Valid {
		return 0, nil
	}
	count := maxID.Int64 + 1
	// StoredHashCount is strictly increasing: binary search n.
	lo, hi := int64(1), count
	for lo < hi {
		mid := lo + (hi-lo)/2
		if tlog.StoredHashCount(mid) < count {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if tlog.StoredHashCount(lo) != count {
		return 0, fmt.Errorf("audit: tree hashes end at index %d, not at a tree size", maxID.Int64)
	}
	return lo, nil
}

// TreeSize returns the number of leaves of d's Merkle tree (the seq of the
// last event added to it).
func TreeSize(ctx context.Context, d *db.DB) (int64, error) { return treeSize(ctx, d.SQL) }

// treeAppender appends leaves to the stored tree inside one transaction.
type treeAppender struct {
	store *hashStore
	size  int64
	rows  []any // id, hash, id, hash, ... not yet inserted
}

// newTreeAppender returns an appender for a tree of the given size, with
// the hashes that appending will read (the roots of the complete subtrees
// of the current tree) loaded in one query.
func newTreeAppender(ctx context.Context, q execQuerier, dialect string, size int64) (*treeAppender, error) {
	s := newHashStore(ctx, q, dialect)
	var frontier []int64
	for l := range bits.Len64(uint64(size)) {
		if size>>l&1 == 1 {
			frontier = append(frontier, tlog.StoredHashIndex(l, size>>l-1))
		}
	}
	if _, err := s.ReadHashes(frontier); err != nil {
		return nil, err
	}
	return &treeAppender{store: s, size: size}, nil
}

// add appends the leaf hash of the next event (seq size+1).
func (a *treeAppender) add(leaf tlog.Hash) error {
	hs, err := tlog.StoredHashesForRecordHash(a.size, leaf, a.store)
	if err != nil {
		return fmt.Errorf("audit: tree: append leaf %d: %w", a.size, err)
	}
	base := tlog.StoredHashCount(a.size)
	for i, h := range hs {
		id := base + int64(i)
		a.store.cache[id] = h
		a.rows = append(a.rows, id, h[:])
	}
	a.size++
	return nil
}

// flush inserts the appended hashes.
func (a *treeAppender) flush() error {
	const perStmt = 400
	for len(a.rows) > 0 {
		n := min(len(a.rows), 2*perStmt)
		ins := entsql.Dialect(a.store.dialect).Insert(treeTable).Columns("id", "hash")
		for i := 0; i < n; i += 2 {
			ins.Values(a.rows[i], a.rows[i+1])
		}
		q, args := ins.Query()
		if _, err := a.store.q.ExecContext(a.store.ctx, q, args...); err != nil {
			return fmt.Errorf("audit: tree: store hashes: %w", err)
		}
		a.rows = a.rows[n:]
	}
	return nil
}

// catchUpTree adds to the tree, inside tx, the chained events it lacks (the
// events chained before the tree existed), so that the tree's size equals
// head. It fails when one of them is no longer in the hot table.
func catchUpTree(ctx context.Context, tx execQuerier, d *db.DB, a *treeAppender, head int64) error {
	if a.size >= head {
		return nil
	}
	q, args := selectEntries(d).Where(entsql.And(entsql.GT("seq", a.size), entsql.LTE("seq", head))).OrderBy("seq").Query()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("audit: tree: read chained events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		_, e, err := scanEntry(rows)
		if err != nil {
			return fmt.Errorf("audit: tree: %w", err)
		}
		if e.Seq != a.size+1 {
			return fmt.Errorf("%w: event seq %d is not in the hot table", errTreeGap, a.size+1)
		}
		leaf, err := LeafHash(e)
		if err != nil {
			return err
		}
		if err := a.add(leaf); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: tree: read chained events: %w", err)
	}
	if a.size != head {
		return fmt.Errorf("%w: event seq %d is not in the hot table", errTreeGap, a.size+1)
	}
	return nil
}

// errTreeGap reports that the tree cannot catch up with the chain because
// events chained before the tree existed were archived (deleted from the
// hot table) first. The chain goes on without the tree then, and
// checkpoints carry no note.
var errTreeGap = errors.New("audit: tree: cannot be built from the hot table")

// ErrTreeSize reports a tree size or leaf out of range of the stored tree.
var ErrTreeSize = errors.New("audit: tree size out of range")

// TreeRoot returns the root hash of the tree of the first size leaves of
// d's tree (size ≥ 1 and at most TreeSize).
func TreeRoot(ctx context.Context, d *db.DB, size int64) (tlog.Hash, error) {
	if err := checkSize(ctx, d, size); err != nil {
		return tlog.Hash{}, err
	}
	h, err := tlog.TreeHash(size, newHashStore(ctx, d.SQL, d.Dialect))
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("audit: tree root of size %d: %w", size, err)
	}
	return h, nil
}

// ProveInclusion returns the RFC 6962 inclusion proof of the event with
// seq in the tree of size treeSize (1 ≤ seq ≤ treeSize ≤ TreeSize). It is
// checked with tlog.CheckRecord(proof, treeSize, root, seq-1, LeafHash(e)).
func ProveInclusion(ctx context.Context, d *db.DB, seq, treeSize int64) (tlog.RecordProof, error) {
	if seq < 1 || seq > treeSize {
		return nil, fmt.Errorf("%w: seq %d is not in a tree of size %d", ErrTreeSize, seq, treeSize)
	}
	if err := checkSize(ctx, d, treeSize); err != nil {
		return nil, err
	}
	p, err := tlog.ProveRecord(treeSize, seq-1, newHashStore(ctx, d.SQL, d.Dialect))
	if err != nil {
		return nil, fmt.Errorf("audit: prove seq %d in size %d: %w", seq, treeSize, err)
	}
	return p, nil
}

// ProveConsistency returns the RFC 6962 consistency proof that the tree of
// size fromSize is a prefix of the tree of size toSize (1 ≤ fromSize ≤
// toSize ≤ TreeSize). It is checked with tlog.CheckTree(proof, toSize,
// rootTo, fromSize, rootFrom).
func ProveConsistency(ctx context.Context, d *db.DB, fromSize, toSize int64) (tlog.TreeProof, error) {
	if fromSize < 1 || fromSize > toSize {
		return nil, fmt.Errorf("%w: size %d is not a prefix of size %d", ErrTreeSize, fromSize, toSize)
	}
	if err := checkSize(ctx, d, toSize); err != nil {
		return nil, err
	}
	p, err := tlog.ProveTree(toSize, fromSize, newHashStore(ctx, d.SQL, d.Dialect))
	if err != nil {
		return nil, fmt.Errorf("audit: prove size %d in size %d: %w", fromSize, toSize, err)
	}
	return p, nil
}

func checkSize(ctx context.Context, d *db.DB, size int64) error {
	n, err := TreeSize(ctx, d)
	if err != nil {
		return err
	}
	if size < 1 || size > n {
		return fmt.Errorf("%w: size %d, tree has %d leaves", ErrTreeSize, size, n)
	}
	return nil
}

// ReadStoredHashes returns the stored hashes with the given indexes, in
// order (for serving tiles).
func ReadStoredHashes(ctx context.Context, d *db.DB, indexes []int64) ([]tlog.Hash, error) {
	return newHashStore(ctx, d.SQL, d.Dialect).ReadHashes(indexes)
}
