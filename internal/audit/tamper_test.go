package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
)

// tamperSQL runs a tampering statement with PostgreSQL placeholders.
func tamperSQL(t *testing.T, d *db.DB, q string, args ...any) {
	t.Helper()
	q = audit.Bind(d, q)
	if _, err := d.SQL.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// entries reads the chain from the database.
func entries(t *testing.T, d *db.DB) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for e, err := range audit.DBSource(d).Events(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func rehash(t *testing.T, e *audit.Entry) {
	t.Helper()
	h, err := audit.HashEntry(*e)
	if err != nil {
		t.Fatal(err)
	}
	e.Hash = h
}

// TestTamper tampers with the database in every way the verifier must
// catch and asserts the exact break, from the database and offline from an
// export verified with only the public key.
func TestTamper(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, d *db.DB)
		kind   string
		seq    int64
	}{
		{"none", func(*testing.T, *db.DB) {}, "", 0},
		{"modify-field", func(t *testing.T, d *db.DB) {
			tamperSQL(t, d, `UPDATE audit_events SET resource_name = 'someone else' WHERE seq = 3`)
		}, audit.BreakEventHash, 3},
		{"modify-metadata", func(t *testing.T, d *db.DB) {
			tamperSQL(t, d, `UPDATE audit_events SET metadata = '{"i":99}' WHERE seq = 4`)
		}, audit.BreakEventHash, 4},
		{"delete-row", func(t *testing.T, d *db.DB) {
			tamperSQL(t, d, `DELETE FROM audit_events WHERE seq = 3`)
		}, audit.BreakSequenceGap, 3},
		{"insert-row", func(t *testing.T, d *db.DB) {
			// A well-formed event slipped in at seq 4, later ones renumbered.
			es := entries(t, d)
			tamperSQL(t, d, `UPDATE audit_events SET seq = -seq WHERE seq >= 4`)
			tamperSQL(t, d, `UPDATE audit_events SET seq = 1 - seq WHERE seq < 0`)
			forged := audit.Entry{Seq: 4, PrevHash: es[2].Hash, At: es[2].At, Source: "platform",
				ActorType: "system", Action: "test.forged", Outcome: "SUCCESS"}
			rehash(t, &forged)
			tamperSQL(t, d, `INSERT INTO audit_events (at, seq, prev_hash, hash, source, actor_type, action, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				forged.At, forged.Seq, forged.PrevHash, forged.Hash, forged.Source, forged.ActorType, forged.Action, forged.Outcome)
		}, audit.BreakPrevHash, 5},
		{"swap-rows", func(t *testing.T, d *db.DB) {
			tamperSQL(t, d, `UPDATE audit_events SET seq = -1 WHERE seq = 3`)
			tamperSQL(t, d, `UPDATE audit_events SET seq = 3 WHERE seq = 4`)
			tamperSQL(t, d, `UPDATE audit_events SET seq = 4 WHERE seq = -1`)
		}, audit.BreakPrevHash, 3},
		{"forge-checkpoint-signature", func(t *testing.T, d *db.DB) {
			sig := make([]byte, ed25519.SignatureSize)
			rand.Read(sig)
			tamperSQL(t, d, `UPDATE audit_checkpoints SET signature = $1`, base64.StdEncoding.EncodeToString(sig))
		}, audit.BreakCheckpointSig, 6},
		{"checkpoint-by-other-key", func(t *testing.T, d *db.DB) {
			other, err := audit.LoadOrCreateKey(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			es := entries(t, d)
			cp := other.Sign(6, es[5].Hash, es[5].At, audit.ReasonManual)
			tamperSQL(t, d, `UPDATE audit_checkpoints SET key_id = $1, signature = $2, at = $3`, cp.KeyID, cp.Signature, cp.At)
		}, audit.BreakCheckpointSig, 6},
		{"rewrite-chain", func(t *testing.T, d *db.DB) {
			// Modify seq 2 and recompute every later link: the chain is
			// consistent again, but no longer the signed one.
			es := entries(t, d)
			prev := es[0].Hash
			for i := 1; i < len(es); i++ {
				e := es[i]
				if i == 1 {
					e.ResourceName = "rewritten"
				}
				e.PrevHash = prev
				rehash(t, &e)
				tamperSQL(t, d, `UPDATE audit_events SET resource_name = $1, prev_hash = $2, hash = $3 WHERE seq = $4`, e.ResourceName, e.PrevHash, e.Hash, e.Seq)
				prev = e.Hash
			}
		}, audit.BreakCheckpointSig, 6},
		{"truncate-tail", func(t *testing.T, d *db.DB) {
			tamperSQL(t, d, `DELETE FROM audit_events WHERE seq = 6`)
		}, audit.BreakCheckpointSig, 6},
	}
	testdb.ForEach(t, func(t *testing.T, _ *db.DB) {
		dialect := t.Name()[len("TestTamper/"):]
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				d := testdb.Open(t, dialect)
				key, err := audit.LoadOrCreateKey(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				writeN(t, d, 6)
				if _, ok, err := audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Logger: quiet}).Checkpoint(ctx, audit.ReasonManual); err != nil || !ok {
					t.Fatalf("checkpoint: %v, %v", ok, err)
				}
				tc.tamper(t, d)
				check := func(where string, r audit.Report) {
					t.Helper()
					if tc.kind == "" {
						if !r.OK || r.EventsVerified != 6 || r.CheckpointsVerified != 1 || r.Break != nil {
							t.Fatalf("%s: report %+v, want ok with 6 events and 1 checkpoint", where, r)
						}
						return
					}
					if r.OK || r.Break == nil || r.Break.Kind != tc.kind || r.Break.Seq != tc.seq {
						t.Fatalf("%s: report %+v (break %+v), want %s at seq %d", where, r, r.Break, tc.kind, tc.seq)
					}
				}
				check("database", verifyDB(t, d, key))
				dir := t.TempDir()
				if _, _, err := audit.Export(ctx, audit.DBSource(d), dir, key.Public); err != nil {
					t.Fatal(err)
				}
				r, err := audit.Verify(ctx, audit.DirSource(dir), []ed25519.PublicKey{key.Public})
				if err != nil {
					t.Fatal(err)
				}
				check("export", r)
			})
		}
	})
}
