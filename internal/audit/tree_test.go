package audit_test

import (
	"context"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
)

// memTree is an in-memory tlog tree built from leaf hashes: the reference
// the stored tree is compared with.
type memTree struct{ hashes []tlog.Hash }

func (m *memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memTree) add(t *testing.T, n int64, leaf tlog.Hash) {
	t.Helper()
	hs, err := tlog.StoredHashesForRecordHash(n, leaf, m)
	if err != nil {
		t.Fatal(err)
	}
	m.hashes = append(m.hashes, hs...)
}

// chainLeaves returns the leaf hashes of the hot chain of d, in seq order.
func chainLeaves(t *testing.T, d *db.DB) []tlog.Hash {
	t.Helper()
	var out []tlog.Hash
	for e, err := range audit.DBSource(d).Events(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		h, err := audit.LeafHash(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

// checkTree compares every root of d's stored tree with the reference
// built from the events and checks inclusion proofs of every leaf in every
// tree size and consistency proofs between every pair of sizes with tlog's
// own verifier; a proof of a different leaf or root must fail.
func checkTree(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	leaves := chainLeaves(t, d)
	size, err := audit.TreeSize(ctx, d)
	if err != nil || size != int64(len(leaves)) {
		t.Fatalf("tree size = %d, %v; want %d", size, err, len(leaves))
	}
	ref := &memTree{}
	roots := make([]tlog.Hash, size+1)
	for n, leaf := range leaves {
		ref.add(t, int64(n), leaf)
		want, err := tlog.TreeHash(int64(n+1), ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := audit.TreeRoot(ctx, d, int64(n+1))
		if err != nil || got != want {
			t.Fatalf("root of size %d = %v, %v; want %v", n+1, got, err, want)
		}
		roots[n+1] = got
	}
	for ts := int64(1); ts <= size; ts++ {
		for seq := int64(1); seq <= ts; seq++ {
			p, err := audit.ProveInclusion(ctx, d, seq, ts)
			if err != nil {
				t.Fatalf("prove seq %d in %d: %v", seq, ts, err)
			}
			if err := tlog.CheckRecord(p, ts, roots[ts], seq-1, leaves[seq-1]); err != nil {
				t.Fatalf("check seq %d in %d: %v", seq, ts, err)
			}
			other := leaves[(seq)%int64(len(leaves))]
			if other != leaves[seq-1] && tlog.CheckRecord(p, ts, roots[ts], seq-1, other) == nil {
				t.Fatalf("proof of seq %d in %d accepts another leaf", seq, ts)
			}
		}
		for from := int64(1); from <= ts; from++ {
			p, err := audit.ProveConsistency(ctx, d, from, ts)
			if err != nil {
				t.Fatalf("prove %d in %d: %v", from, ts, err)
			}
			if err := tlog.CheckTree(p, ts, roots[ts], from, roots[from]); err != nil {
				t.Fatalf("check %d in %d: %v", from, ts, err)
			}
			if from < ts && tlog.CheckTree(p, ts, roots[ts], from, roots[from+1]) == nil {
				t.Fatalf("consistency %d in %d accepts another old root", from, ts)
			}
		}
	}
}

// TestMerkleTree: the tree appended by the chainer, in batches of every
// alignment, has the roots of a tree built from the events, and its
// inclusion and consistency proofs at every size check with tlog.
func TestMerkleTree(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ch := audit.NewChainer(d, audit.ChainerOptions{Batch: 3})
		i := 0
		for _, round := range []int{1, 1, 2, 5, 8, 1, 13} {
			for range round {
				i++
				if err := write(ctx, d, i, map[string]any{"i": i}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ch.ChainPending(ctx); err != nil {
				t.Fatal(err)
			}
		}
		checkTree(t, d)
		if _, err := audit.ProveInclusion(ctx, d, 1, int64(i+1)); err == nil {
			t.Fatal("proof in a tree larger than the log: no error")
		}
		if _, err := audit.ProveConsistency(ctx, d, 5, 4); err == nil {
			t.Fatal("consistency proof of a larger old size: no error")
		}
		if r := verifyDB(t, d); !r.OK {
			t.Fatalf("chain: %+v", r)
		}
	})
}

// TestMerkleTreeCatchUp: a chain linked before the tree existed (its hashes
// removed here) is added to the tree by the next chaining round, before the
// new events.
func TestMerkleTreeCatchUp(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		writeN(t, d, 9)
		if _, err := d.SQL.ExecContext(ctx, `DELETE FROM audit_tree_hashes`); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.NewChainer(d, audit.ChainerOptions{}).ChainPending(ctx); err != nil {
			t.Fatal(err)
		}
		checkTree(t, d)
		if err := write(ctx, d, 10, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := d.SQL.ExecContext(ctx, `DELETE FROM audit_tree_hashes WHERE id > 3`); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.NewChainer(d, audit.ChainerOptions{}).ChainPending(ctx); err != nil {
			t.Fatal(err)
		}
		checkTree(t, d)
	})
}

// TestMerkleTreeAfterArchive: when events chained before the tree existed
// were already archived (gone from the hot table), the tree cannot be
// built: the chain keeps growing, verification of the chain still holds,
// and checkpoints are written without a note.
func TestMerkleTreeAfterArchive(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		writeN(t, d, 5)
		for _, q := range []string{`DELETE FROM audit_tree_hashes`, `DELETE FROM audit_events WHERE seq <= 2`} {
			if _, err := d.SQL.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if err := write(ctx, d, 6, nil); err != nil {
			t.Fatal(err)
		}
		if n, err := audit.NewChainer(d, audit.ChainerOptions{Logger: quiet}).ChainPending(ctx); err != nil || n != 1 {
			t.Fatalf("chain after archive = %d, %v", n, err)
		}
		if head, _, err := audit.Head(ctx, d); err != nil || head != 6 {
			t.Fatalf("head = %d, %v", head, err)
		}
		key, err := audit.LoadOrCreateKey(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cp, written, err := audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Logger: quiet}).Checkpoint(ctx, audit.ReasonManual)
		if err != nil || !written || cp.Note != "" {
			t.Fatalf("checkpoint = %+v, %v, %v; want one without a note", cp, written, err)
		}
	})
}
