package witness_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/witness"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var quiet = slog.New(slog.DiscardHandler)

// startWitness runs a witness of key's log and returns it and its
// add-checkpoint URL.
func startWitness(t *testing.T, name string, key *audit.SigningKey) (*witness.Witness, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.New(name, priv, t.TempDir(), []ed25519.PublicKey{key.Public}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	return w, srv.URL + witness.AddCheckpointPath
}

// testLog is one database holding a log signed by key, submitting its
// checkpoints to witnesses.
type testLog struct {
	t    *testing.T
	d    *db.DB
	ch   *audit.Chainer
	cp   *audit.Checkpointer
	wits *audit.Witnesses
	n    int
}

func newLog(t *testing.T, d *db.DB, key *audit.SigningKey, urls ...string) *testLog {
	l := &testLog{t: t, d: d, ch: audit.NewChainer(d, audit.ChainerOptions{Logger: quiet})}
	l.wits = audit.NewWitnesses(d, urls, nil, quiet)
	l.cp = audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Logger: quiet, OnCheckpoint: l.wits.OnCheckpoint})
	return l
}

// grow records n events (named by tag), chains them and checkpoints the
// head, which submits it to the witnesses.
func (l *testLog) grow(tag string, n int) audit.Checkpoint {
	l.t.Helper()
	ctx := context.Background()
	err := db.WithTx(viewer.SystemContext(ctx), l.d.Client, func(ctx context.Context) error {
		for range n {
			l.n++
			if err := audit.Record(ctx, audit.Event{Action: "test." + tag, ResourceType: "Thing", ResourceID: fmt.Sprint(l.n)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.t.Fatal(err)
	}
	if _, err := l.ch.ChainPending(ctx); err != nil {
		l.t.Fatal(err)
	}
	cp, written, err := l.cp.Checkpoint(ctx, audit.ReasonManual)
	if err != nil || !written {
		l.t.Fatalf("checkpoint: %v, %v", written, err)
	}
	return cp
}

func (l *testLog) cosigners(headSeq int64) int {
	l.t.Helper()
	cs, err := audit.Cosignatures(context.Background(), l.d, headSeq)
	if err != nil {
		l.t.Fatal(err)
	}
	return len(cs)
}

func (l *testLog) latest() []byte {
	l.t.Helper()
	_, msg, err := audit.LatestNote(context.Background(), l.d)
	if err != nil {
		l.t.Fatal(err)
	}
	return []byte(msg)
}

func newKey(t *testing.T) *audit.SigningKey {
	t.Helper()
	k, err := audit.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestWitnessCosigns: each new checkpoint is submitted with a consistency
// proof from the last cosigned one, and the cosignature is stored and
// served with the checkpoint note.
func TestWitnessCosigns(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		key := newKey(t)
		w, url := startWitness(t, "witness.example/w1", key)
		l := newLog(t, d, key, url)
		for i, n := range []int{5, 1, 4, 7} {
			cp := l.grow("grow", n)
			if got := l.cosigners(cp.HeadSeq); got != 1 {
				t.Fatalf("checkpoint %d (seq %d): %d cosignatures", i, cp.HeadSeq, got)
			}
			th, err := audit.VerifyCosigned(l.latest(), key.Public, []audit.CosignatureVerifier{w.Verifier()}, 1)
			if err != nil || th.Size != cp.HeadSeq {
				t.Fatalf("cosigned checkpoint %d: %+v, %v", i, th, err)
			}
		}
		// The verifier key is the C2SP vkey form.
		if vk := w.VerifierKey(); len(vk) < 20 || vk[:len("witness.example/w1+")] != "witness.example/w1+" {
			t.Fatalf("verifier key %q", vk)
		}
	})
}

// TestWitnessDetectsRewrite: the key holder rewrites the witnessed history
// (other events at the same seqs, re-chained, re-treed and re-signed with
// the log key) and submits it; the witness refuses it because no
// consistency proof from the witnessed tree holds, keeps its state, and
// the genuine log keeps being cosigned.
func TestWitnessDetectsRewrite(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		key := newKey(t)
		w, url := startWitness(t, "witness.example/w1", key)
		genuine := newLog(t, d, key, url)
		witnessed := genuine.grow("genuine", 6)
		if genuine.cosigners(witnessed.HeadSeq) != 1 {
			t.Fatal("genuine checkpoint not cosigned")
		}

		rewritten := newLog(t, testdb.Open(t, d.Dialect), key, url)
		cp := rewritten.grow("rewritten", 9)
		if rewritten.cosigners(cp.HeadSeq) != 0 {
			t.Fatal("rewritten history cosigned")
		}
		if err := rewritten.wits.Submit(context.Background(), url, cp); !errors.Is(err, audit.ErrWitnessRefused) {
			t.Fatalf("submit rewritten history: %v, want ErrWitnessRefused", err)
		}
		// Same size as witnessed, other root: refused too.
		same := newLog(t, testdb.Open(t, d.Dialect), key, url)
		if cp := same.grow("rewritten", 6); same.cosigners(cp.HeadSeq) != 0 {
			t.Fatal("same-size rewrite cosigned")
		}
		if _, err := audit.VerifyCosigned(rewritten.latest(), key.Public, []audit.CosignatureVerifier{w.Verifier()}, 1); err == nil {
			t.Fatal("rewritten checkpoint passes a cosignature policy")
		}
		next := genuine.grow("genuine", 3)
		if genuine.cosigners(next.HeadSeq) != 1 {
			t.Fatal("genuine log not cosigned after the refused rewrite")
		}
	})
}

// TestWitnessesDetectSplitView: the key holder shows two different logs
// (same key and origin) to two witnesses, each cosigns the view it saw,
// but a checkpoint of either view cannot get the other witness's
// cosignature, so a policy requiring both witnesses rejects both views.
func TestWitnessesDetectSplitView(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key := newKey(t)
		w1, url1 := startWitness(t, "witness.example/w1", key)
		w2, url2 := startWitness(t, "witness.example/w2", key)
		both := []audit.CosignatureVerifier{w1.Verifier(), w2.Verifier()}

		viewA := newLog(t, d, key, url1)
		viewB := newLog(t, testdb.Open(t, d.Dialect), key, url2)
		a := viewA.grow("view-a", 5)
		b := viewB.grow("view-b", 5)
		if viewA.cosigners(a.HeadSeq) != 1 || viewB.cosigners(b.HeadSeq) != 1 {
			t.Fatal("each witness should cosign the view it saw")
		}
		if _, err := audit.VerifyCosigned(viewA.latest(), key.Public, both, 1); err != nil {
			t.Fatalf("view A with one cosignature: %v", err)
		}
		for name, l := range map[string]*testLog{"A": viewA, "B": viewB} {
			if _, err := audit.VerifyCosigned(l.latest(), key.Public, both, 2); err == nil {
				t.Fatalf("view %s passes a two-witness policy", name)
			}
		}
		// Collecting the second cosignature exposes the split view.
		if err := viewA.wits.Submit(ctx, url2, a); !errors.Is(err, audit.ErrWitnessRefused) {
			t.Fatalf("view A at witness 2: %v, want ErrWitnessRefused", err)
		}
		if err := viewB.wits.Submit(ctx, url1, b); !errors.Is(err, audit.ErrWitnessRefused) {
			t.Fatalf("view B at witness 1: %v, want ErrWitnessRefused", err)
		}
		// A log under another key is unknown to these witnesses.
		other := newLog(t, testdb.Open(t, d.Dialect), newKey(t))
		if err := other.wits.Submit(ctx, url1, other.grow("other", 2)); !errors.Is(err, audit.ErrWitnessRefused) {
			t.Fatalf("unknown log: %v", err)
		}
	})
}
