package audit_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditcheckpoint"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestSigningKey: the key is generated once (0600), reloaded the same, its
// public key published beside it, and its id is the documented one.
func TestSigningKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := audit.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := audit.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Public.Equal(k2.Public) || k1.ID != k2.ID || len(k1.ID) != 32 {
		t.Fatalf("reloaded key differs: %s vs %s", k1.ID, k2.ID)
	}
	st, err := os.Stat(filepath.Join(dir, audit.DefaultKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	pubData, err := os.ReadFile(audit.PublicKeyPath(filepath.Join(dir, audit.DefaultKeyFile)))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKey(pubData)
	if err != nil || !pub.Equal(k1.Public) {
		t.Fatalf("published public key = %v, %v", pub, err)
	}
	// A configured key file loads and publishes its public key too.
	other := filepath.Join(t.TempDir(), "prod.key")
	data, err := os.ReadFile(filepath.Join(dir, audit.DefaultKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, data, 0o600); err != nil {
		t.Fatal(err)
	}
	k3, err := audit.LoadKey(other)
	if err != nil || k3.ID != k1.ID {
		t.Fatalf("LoadKey = %v, %v", k3, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(other), "prod.pub")); err != nil {
		t.Fatalf("public key not published: %v", err)
	}
	cp := k1.Sign(7, "ab", time.Now(), audit.ReasonManual)
	if !cp.VerifySignature([]ed25519.PublicKey{pub}) {
		t.Fatal("signature does not verify with the published key")
	}
	cp.HeadSeq = 8
	if cp.VerifySignature([]ed25519.PublicKey{pub}) {
		t.Fatal("signature verifies for another head")
	}
}

// TestCheckpointer: a checkpoint signs the head; none is written for an
// empty chain or an unmoved head; Run writes one at startup and one when
// the threshold of new chained events is reached.
func TestCheckpointer(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key, err := audit.LoadOrCreateKey(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cpr := audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Threshold: 5, Interval: time.Hour, Logger: quiet})
		if _, ok, err := cpr.Checkpoint(ctx, audit.ReasonManual); err != nil || ok {
			t.Fatalf("empty chain: written %v, %v", ok, err)
		}
		writeN(t, d, 3)
		cp, ok, err := cpr.Checkpoint(ctx, audit.ReasonManual)
		if err != nil || !ok || cp.HeadSeq != 3 {
			t.Fatalf("checkpoint = %+v, %v, %v", cp, ok, err)
		}
		if _, ok, err := cpr.Checkpoint(ctx, audit.ReasonManual); err != nil || ok {
			t.Fatalf("unmoved head: written %v, %v", ok, err)
		}
		stored, err := d.Client.AuditCheckpoint.Query().Only(viewer.SystemContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		if stored.KeyID != key.ID || stored.Algorithm != "ed25519" || stored.Reason != auditcheckpoint.ReasonManual || !stored.At.Equal(cp.At) {
			t.Fatalf("stored checkpoint = %+v, want %+v", stored, cp)
		}
		// Checkpoints are never updated, and only the system writes them.
		if err := d.Client.AuditCheckpoint.UpdateOne(stored).Exec(viewer.SystemContext(ctx)); err == nil {
			t.Fatal("checkpoint update allowed")
		}
		op := viewer.NewContext(ctx, &viewer.Viewer{Subject: "op", Operator: true})
		if err := d.Client.AuditCheckpoint.Create().SetHeadSeq(1).SetHeadHash("x").SetKeyID("k").SetAlgorithm("ed25519").
			SetSignature("s").SetReason(auditcheckpoint.ReasonManual).Exec(op); err == nil {
			t.Fatal("operator wrote a checkpoint")
		}
		if n, err := d.Client.AuditCheckpoint.Query().Count(op); err != nil || n != 1 {
			t.Fatalf("operator reads %d checkpoints, %v", n, err)
		}

		// Run: a startup checkpoint of the moved head (7), then a threshold
		// one once the head is 5 past it (12), and none in between (11).
		writeN(t, d, 4)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- cpr.Run(runCtx) }()
		defer func() { cancel(); <-done }()
		checkpoints := func() []*ent.AuditCheckpoint {
			cps, err := d.Client.AuditCheckpoint.Query().Order(ent.Asc(auditcheckpoint.FieldHeadSeq)).All(viewer.SystemContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			return cps
		}
		waitFor(t, func() bool { return len(checkpoints()) >= 2 })
		ch := audit.NewChainer(d, audit.ChainerOptions{OnChain: cpr.Observe})
		for _, n := range []int{4, 1} {
			for i := 0; i < n; i++ {
				if err := write(ctx, d, 100+i, nil); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ch.ChainPending(ctx); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, func() bool { return len(checkpoints()) >= 3 })
		cps := checkpoints()
		want := []struct {
			head   int64
			reason auditcheckpoint.Reason
		}{{3, auditcheckpoint.ReasonManual}, {7, auditcheckpoint.ReasonStartup}, {12, auditcheckpoint.ReasonThreshold}}
		if len(cps) != len(want) {
			t.Fatalf("%d checkpoints, want %d", len(cps), len(want))
		}
		for i, w := range want {
			if cps[i].HeadSeq != w.head || cps[i].Reason != w.reason {
				t.Fatalf("checkpoint %d = head %d by %s, want head %d by %s", i, cps[i].HeadSeq, cps[i].Reason, w.head, w.reason)
			}
		}
		if r := verifyDB(t, d, key); !r.OK || r.EventsVerified != 12 || r.CheckpointsVerified != 3 {
			t.Fatalf("report = %+v", r)
		}
	})
}

// TestStartupCheckpointAfterFirstChaining: a checkpointer started on a
// chain with nothing linked yet (events written just before start, as demo
// seeding does) writes its startup checkpoint when the chainer first
// reports a head, not 100 events or 5 minutes later.
func TestStartupCheckpointAfterFirstChaining(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key, err := audit.LoadOrCreateKey(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cpr := audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Threshold: 100, Interval: time.Hour, Logger: quiet})
		for i := 0; i < 3; i++ { // written, not yet chained
			if err := write(ctx, d, 200+i, nil); err != nil {
				t.Fatal(err)
			}
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- cpr.Run(runCtx) }()
		defer func() { cancel(); <-done }()
		ch := audit.NewChainer(d, audit.ChainerOptions{OnChain: cpr.Observe})
		if _, err := ch.ChainPending(ctx); err != nil {
			t.Fatal(err)
		}
		var cps []*ent.AuditCheckpoint
		waitFor(t, func() bool {
			cps, err = d.Client.AuditCheckpoint.Query().All(viewer.SystemContext(ctx))
			return err == nil && len(cps) > 0
		})
		if len(cps) != 1 || cps[0].HeadSeq != 3 || cps[0].Reason != auditcheckpoint.ReasonStartup {
			t.Fatalf("checkpoints = %+v, want one startup checkpoint of head 3", cps)
		}
	})
}

// waitFor polls cond until it holds (failing after a generous deadline).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
