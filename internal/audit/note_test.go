package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
)

// TestCheckpointNote: every checkpoint carries a C2SP signed note of the
// tree at its head that note.Open accepts with the published verifier key;
// Verify checks the notes of checkpoints at many sizes against the roots of
// the events, from the database and from an export; a checkpoint without a
// note (made before the tree) still verifies; a note signed by another key
// or of another root is a checkpoint-note-mismatch.
func TestCheckpointNote(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key, err := audit.LoadOrCreateKey(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cpr := audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Logger: quiet})
		ch := audit.NewChainer(d, audit.ChainerOptions{})
		i := 0
		var last audit.Checkpoint
		for _, n := range []int{1, 1, 1, 2, 3, 5, 8} {
			for range n {
				i++
				if err := write(ctx, d, i, map[string]any{"i": i}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ch.ChainPending(ctx); err != nil {
				t.Fatal(err)
			}
			cp, written, err := cpr.Checkpoint(ctx, audit.ReasonManual)
			if err != nil || !written {
				t.Fatalf("checkpoint = %v, %v", written, err)
			}
			last = cp
		}
		vkey, err := audit.VerifierKey(key.Public)
		if err != nil {
			t.Fatal(err)
		}
		v, err := note.NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open([]byte(last.Note), note.VerifierList(v))
		if err != nil {
			t.Fatalf("note.Open: %v\n%s", err, last.Note)
		}
		root, err := audit.TreeRoot(ctx, d, int64(i))
		if err != nil {
			t.Fatal(err)
		}
		want := string(audit.FormatTreeHead(audit.TreeHead{Origin: audit.Origin(key.Public), Size: int64(i), Root: root}))
		if n.Text != want {
			t.Fatalf("note text %q, want %q", n.Text, want)
		}
		r := verifyDB(t, d, key)
		if !r.OK || r.CheckpointsVerified != 7 {
			t.Fatalf("report = %+v", r)
		}
		dir := t.TempDir()
		if _, _, err := audit.Export(ctx, audit.DBSource(d), dir, key.Public); err != nil {
			t.Fatal(err)
		}
		if r, err := audit.Verify(ctx, audit.DirSource(dir), []ed25519.PublicKey{key.Public}); err != nil || !r.OK || r.CheckpointsVerified != 7 {
			t.Fatalf("export report = %+v, %v", r, err)
		}

		// A checkpoint from before the tree has no note.
		setNote := func(seq int64, v any) {
			t.Helper()
			q := `UPDATE audit_checkpoints SET note = ? WHERE head_seq = ?`
			if d.IsPostgres() {
				q = `UPDATE audit_checkpoints SET note = $1 WHERE head_seq = $2`
			}
			if _, err := d.SQL.ExecContext(ctx, q, v, seq); err != nil {
				t.Fatal(err)
			}
		}
		first := int64(1)
		setNote(first, nil)
		if r := verifyDB(t, d, key); !r.OK || r.CheckpointsVerified != 7 {
			t.Fatalf("without the first note: %+v", r)
		}

		// Another key's note of the true tree.
		_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
		other := &audit.SigningKey{Private: otherPriv, Public: otherPriv.Public().(ed25519.PublicKey)}
		other.ID = audit.KeyID(other.Public)
		forged, err := other.SignTreeHead(last.HeadSeq, root)
		if err != nil {
			t.Fatal(err)
		}
		setNote(last.HeadSeq, forged)
		if r := verifyDB(t, d, key); r.OK || r.Break.Kind != audit.BreakCheckpointNote || r.Break.Seq != last.HeadSeq {
			t.Fatalf("note by another key: %+v %+v", r, r.Break)
		}

		// The log key's note of another root.
		wrongRoot, err := audit.TreeRoot(ctx, d, 3)
		if err != nil {
			t.Fatal(err)
		}
		lie, err := key.SignTreeHead(last.HeadSeq, wrongRoot)
		if err != nil {
			t.Fatal(err)
		}
		setNote(last.HeadSeq, lie)
		r = verifyDB(t, d, key)
		if r.OK || r.Break.Kind != audit.BreakCheckpointNote || r.Break.Actual != wrongRoot.String() {
			t.Fatalf("note of another root: %+v %+v", r, r.Break)
		}
		if !strings.HasPrefix(lie, audit.Origin(key.Public)+"\n") {
			t.Fatalf("note does not start with the origin: %q", lie)
		}
	})
}
