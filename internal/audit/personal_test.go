package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// sealedEntry returns a sealed, hashed entry with personal data of
// ann@example.com and bob@example.com.
func sealedEntry(t testing.TB) audit.Entry {
	t.Helper()
	e := audit.Entry{Seq: 5, PrevHash: strings.Repeat("ab", 32), At: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC),
		Source: "authentik", ActorType: "user", ActorID: "annie", ActorEmail: "Ann@Example.com", ActorIP: "203.0.113.9",
		Action: "authentik.login", Outcome: "SUCCESS",
		Metadata: []byte(`{"attributes":{"username":"annie","client_ip":"203.0.113.9","geo":"Oslo"},` +
			`"member":{"displayName":"Bob B","email":"bob@example.com","a/b~c":{"name":"Bob"}},"n":1.50,"raw":"{\"by\":\"x\",\"who\":\"ann@example.com.\"}","to":["bob@example.com","ops"]}`)}
	if err := audit.SealEntry(&e); err != nil {
		t.Fatal(err)
	}
	h, err := audit.HashEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	e.Hash = h
	return e
}

// TestPersonalFields: the documented rule picks exactly the personal
// fields, with the documented subjects, and the canonical JSON of a sealed
// event holds commitments, never the values.
func TestPersonalFields(t *testing.T) {
	e := sealedEntry(t)
	ann, bob := audit.SubjectDigest(" ann@example.COM"), audit.SubjectDigest("bob@example.com")
	want := map[string]string{
		"actorEmail":                    ann,
		"actorId":                       ann, // ingested: a user name
		"actorIp":                       ann,
		"metadata/attributes/client_ip": ann,
		"metadata/attributes/username":  ann,
		"metadata/member/displayName":   bob, // the enclosing object's address
		"metadata/member/email":         bob,
		"metadata/raw":                  ann, // text naming an address
		"metadata/to/0":                 bob, // an address under any key
	}
	got := map[string]string{}
	for p, s := range e.Personal {
		got[p] = s.Subject
		if len(s.Salt) != audit.SaltSize || s.Erased || len(s.Commitment) != 64 {
			t.Fatalf("%s: %+v", p, s)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("personal fields:\n got %v\nwant %v", got, want)
	}
	c, err := audit.Canonical(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"Ann@Example.com", "annie", "203.0.113.9", "Bob B", "bob@example.com"} {
		if bytes.Contains(c, []byte(v)) {
			t.Fatalf("canonical JSON holds %q: %s", v, c)
		}
	}
	if !bytes.Contains(c, []byte(`"format":2`)) || !bytes.Contains(c, []byte(`"geo":"Oslo"`)) || !bytes.Contains(c, []byte(`"name":"Bob"`)) {
		t.Fatalf("canonical JSON: %s", c)
	}
	// A platform actor id (an OIDC subject) is not personal; an address is.
	for _, tc := range []struct {
		source, id string
		personal   bool
	}{{"platform", "d1f0c3", false}, {"platform", "x@y.example", true}, {"ocis", "einstein", true}} {
		e := audit.Entry{Source: tc.source, ActorID: tc.id, Action: "a"}
		if err := audit.SealEntry(&e); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.Personal["actorId"]; ok != tc.personal {
			t.Fatalf("actor id %q of %s: personal %v", tc.id, tc.source, ok)
		}
	}
}

// TestEraseEntry: erasing one subject replaces its values, drops salts and
// subjects, keeps the hash, leaves the other subject alone, and is a no-op
// the second time; altering a sealed value or an erased commitment breaks
// the hash.
func TestEraseEntry(t *testing.T) {
	e := sealedEntry(t)
	n, err := audit.EraseSubject(&e, audit.SubjectDigest("ann@example.com"))
	if err != nil || n != 6 {
		t.Fatalf("erased %d, %v", n, err)
	}
	if h, err := audit.HashEntry(e); err != nil || h != e.Hash {
		t.Fatalf("hash after erasure %s, %v; want %s", h, err, e.Hash)
	}
	line, err := audit.MarshalLine(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"Ann@Example.com", "annie", "203.0.113.9", audit.SubjectDigest("ann@example.com")} {
		if bytes.Contains(line, []byte(v)) {
			t.Fatalf("erased line holds %q: %s", v, line)
		}
	}
	if !bytes.Contains(line, []byte("bob@example.com")) || e.ActorEmail != audit.ErasedValue {
		t.Fatalf("erased line: %s", line)
	}
	if got := strings.Join(audit.ErasedPaths(e.Personal), ","); got != "actorEmail,actorId,actorIp,metadata/attributes/client_ip,metadata/attributes/username,metadata/raw" {
		t.Fatalf("erased paths %s", got)
	}
	// The line round-trips and still verifies.
	back, err := audit.ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := audit.HashEntry(back); err != nil || h != e.Hash {
		t.Fatalf("parsed erased line hashes to %s, %v", h, err)
	}
	if n, err := audit.EraseSubject(&e, audit.SubjectDigest("ann@example.com")); n != 0 || err != nil {
		t.Fatalf("second erasure: %d, %v", n, err)
	}
	// Tampering: a sealed value, an erased commitment, a dropped seal.
	alter := []func(e *audit.Entry){
		func(e *audit.Entry) {
			e.Metadata = bytes.Replace(e.Metadata, []byte("Bob B"), []byte("Rob B"), 1)
		},
		func(e *audit.Entry) {
			s := e.Personal["actorEmail"]
			s.Commitment = strings.Repeat("0", 64)
			e.Personal["actorEmail"] = s
		},
		func(e *audit.Entry) { delete(e.Personal, "metadata/member/email") },
	}
	for i, f := range alter {
		x, err := audit.ParseLine(line)
		if err != nil {
			t.Fatal(err)
		}
		f(&x)
		if h, _ := audit.HashEntry(x); h == e.Hash {
			t.Fatalf("alteration %d keeps the hash", i)
		}
	}
}

// TestLegacyAndSealedChain: a database whose sealed format was recorded
// to start at seq 4 (as after an upgrade) chains seqs 1-3 in the legacy
// format and the rest sealed; verification handles both, the tree and
// checkpoints hold, and erasure leaves the legacy events (counted) alone.
func TestLegacyAndSealedChain(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		tamperSQL(t, d, `INSERT INTO audit_settings (name, int_value) VALUES ('sealed_from_seq', 4)`)
		user := viewer.NewContext(ctx, &viewer.Viewer{Subject: "s1", Email: "carol@example.com", IP: "192.0.2.44"})
		for i := range 6 {
			err := db.WithTx(user, d.Client, func(ctx context.Context) error {
				return audit.Record(ctx, audit.Event{Action: "test.legacy", ResourceID: fmt.Sprint(i), Metadata: map[string]any{"email": "carol@example.com"}})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		ch := audit.NewChainer(d, audit.ChainerOptions{Logger: quiet})
		if _, err := ch.ChainPending(ctx); err != nil {
			t.Fatal(err)
		}
		from, ok, err := audit.SealedFromSeq(ctx, d)
		if err != nil || !ok || from != 4 {
			t.Fatalf("sealed from %d, %v, %v", from, ok, err)
		}
		for _, e := range entries(t, d) {
			if (e.Personal != nil) != (e.Seq >= 4) {
				t.Fatalf("seq %d sealed: %v", e.Seq, e.Personal != nil)
			}
		}
		key := newTestKey(t)
		cp := audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Logger: quiet})
		if _, _, err := cp.Checkpoint(ctx, audit.ReasonManual); err != nil {
			t.Fatal(err)
		}
		if r := verifyDB(t, d, key); !r.OK || r.EventsVerified != 6 || r.CheckpointsVerified != 1 {
			t.Fatalf("mixed chain: %+v", r)
		}
		svc := audit.NewService(d, ch, cp, key)
		op := viewer.NewContext(ctx, &viewer.Viewer{Subject: "op", Email: "ops@example.net", Operator: true})
		res, err := svc.EraseSubject(op, "carol@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if res.Events != 3 || res.Fields != 9 || res.LegacyEvents != 3 {
			t.Fatalf("erasure: %+v", res)
		}
		if _, err := ch.ChainPending(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := cp.Checkpoint(ctx, audit.ReasonManual); err != nil {
			t.Fatal(err)
		}
		if r := verifyDB(t, d, key); !r.OK || r.EventsVerified != 7 || r.CheckpointsVerified != 2 {
			t.Fatalf("after erasure: %+v", r)
		}
		// Export and offline verification of both formats.
		dir := t.TempDir()
		if _, _, err := audit.Export(ctx, audit.DBSource(d), dir, key.Public); err != nil {
			t.Fatal(err)
		}
		if r, err := audit.Verify(ctx, audit.DirSource(dir), pubs([]*audit.SigningKey{key})); err != nil || !r.OK {
			t.Fatalf("export: %+v, %v", r, err)
		}
		// Tampering with a sealed row's salt is an event-hash-mismatch.
		var personal string
		if err := d.SQL.QueryRowContext(ctx, `SELECT personal FROM audit_events WHERE seq = 7`).Scan(&personal); err != nil {
			t.Fatal(err)
		}
		seals, err := audit.ParsePersonal([]byte(personal))
		if err != nil {
			t.Fatal(err)
		}
		s := seals["actorEmail"]
		s.Salt = bytes.Repeat([]byte{1}, audit.SaltSize)
		seals["actorEmail"] = s
		tamperSQL(t, d, `UPDATE audit_events SET personal = $1 WHERE seq = 7`, string(audit.MarshalPersonal(seals)))
		if r := verifyDB(t, d, key); r.OK || r.Break.Kind != audit.BreakEventHash || r.Break.Seq != 7 {
			t.Fatalf("tampered salt: %+v", r)
		}
	})
}

func newTestKey(t *testing.T) *audit.SigningKey {
	t.Helper()
	k, err := audit.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzParsePersonal: the seals parser never panics, and what it accepts
// marshals back to JSON that parses to the same seals.
func FuzzParsePersonal(f *testing.F) {
	e := sealedEntry(f)
	f.Add(audit.MarshalPersonal(e.Personal))
	if _, err := audit.EraseSubject(&e, audit.SubjectDigest("bob@example.com")); err != nil {
		f.Fatal(err)
	}
	f.Add(audit.MarshalPersonal(e.Personal))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"metadata/a~1b":{"commitment":"` + strings.Repeat("a", 64) + `","erased":true}}`))
	f.Add([]byte(`{"metadata/~2":{"commitment":"x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := audit.ParsePersonal(data)
		if err != nil {
			return
		}
		b := audit.MarshalPersonal(p)
		p2, err := audit.ParsePersonal(b)
		if err != nil {
			t.Fatalf("re-marshalled seals %s do not parse: %v", b, err)
		}
		if !bytes.Equal(audit.MarshalPersonal(p2), b) {
			t.Fatalf("round trip changed the seals: %s", b)
		}
		if !json.Valid(b) {
			t.Fatalf("marshalled seals are not JSON: %s", b)
		}
	})
}

// TestConcurrentErasures: erasures of two subjects that share events,
// running at once, both take effect (neither undoes the other) and the
// chain verifies.
func TestConcurrentErasures(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		dan := viewer.NewContext(ctx, &viewer.Viewer{Subject: "s-dan", Email: "dan@example.com"})
		for i := range 20 {
			err := db.WithTx(dan, d.Client, func(ctx context.Context) error {
				return audit.Record(ctx, audit.Event{Action: "test.shared", ResourceID: fmt.Sprint(i), Metadata: map[string]any{"invitee": "eve@example.com"}})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		key := newTestKey(t)
		ch := audit.NewChainer(d, audit.ChainerOptions{Logger: quiet})
		svc := audit.NewService(d, ch, audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Logger: quiet}), key)
		op := viewer.NewContext(ctx, &viewer.Viewer{Subject: "op", Email: "ops@example.net", Operator: true})
		errs := make(chan error, 2)
		for _, who := range []string{"dan@example.com", "eve@example.com"} {
			go func() {
				_, err := svc.EraseSubject(op, who)
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ch.ChainPending(ctx); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries(t, d) {
			if e.Action != "test.shared" {
				continue
			}
			if got := strings.Join(audit.ErasedPaths(e.Personal), ","); got != "actorEmail,metadata/invitee" {
				t.Fatalf("seq %d erased %q", e.Seq, got)
			}
		}
		if r := verifyDB(t, d, key); !r.OK {
			t.Fatalf("after concurrent erasures: %+v", r)
		}
	})
}
