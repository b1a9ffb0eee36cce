package audit_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestCanonicalForm pins the documented canonical JSON and its hash.
func TestCanonicalForm(t *testing.T) {
	tenant := int64(42)
	e := audit.Entry{
		Seq: 1, At: time.Date(2026, 11, 27, 12, 0, 0, 123456000, time.UTC), Source: "platform",
		ActorType: "OPERATOR", ActorID: "u1", ActorEmail: "ops@dezky.io", Action: "tenant.suspended",
		Outcome: "SUCCESS", ResourceType: "Tenant", ResourceID: "42", ResourceName: "Acme",
		TenantID: &tenant, TenantSlug: "acme", Metadata: []byte(`{ "seats": 5.0, "reason": "unpaid" }`),
	}
	got, err := audit.Canonical(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action":"tenant.suspended","actorEmail":"ops@dezky.io","actorId":"u1","actorIp":"","actorType":"OPERATOR","at":"2026-11-27T12:00:00.123456Z","externalId":null,"metadata":{"reason":"unpaid","seats":5},"outcome":"SUCCESS","partnerId":null,"partnerSlug":"","prevHash":"","resourceId":"42","resourceName":"Acme","resourceType":"Tenant","seq":1,"source":"platform","tenantId":42,"tenantSlug":"acme"}`
	if string(got) != want {
		t.Fatalf("canonical form\n got %s\nwant %s", got, want)
	}
	for in, out := range map[string]string{
		`[1e21, 1e-7, 0.000001, -0, 1.5e300, 100, "a\"\\\n\u0001é<>", {"b":1,"a":[]}]`: `[1e+21,1e-7,0.000001,0,1.5e+300,100,"a\"\\\u000a\u0001é<>",{"a":[],"b":1}]`,
		`null`: `null`,
	} {
		e.Metadata = []byte(in)
		b, err := audit.Canonical(e)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); !strings.Contains(s, `"metadata":`+out+`,`) {
			t.Fatalf("metadata %s: got %s, want %s", in, s, out)
		}
	}
}

// TestChainAndVerify: recorded events are chained gap-free from seq 1, at
// is stored with microsecond precision, the chain verifies from the
// database and from an export.
func TestChainAndVerify(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		writeN(t, d, 7)
		evs, err := d.Client.AuditEvent.Query().All(viewer.SystemContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Seq == nil || ev.Hash == "" || ev.At.Nanosecond()%1000 != 0 {
				t.Fatalf("event %d not chained or at not in microseconds: %+v", ev.ID, ev)
			}
		}
		r := verifyDB(t, d)
		if !r.OK || r.EventsVerified != 7 {
			t.Fatalf("report = %+v, want ok with 7 events", r)
		}
		dir := t.TempDir()
		if n, _, err := audit.Export(ctx, audit.DBSource(d), dir, nil); err != nil || n != 7 {
			t.Fatalf("export = %d, %v", n, err)
		}
		r, err = audit.Verify(ctx, audit.DirSource(dir), nil)
		if err != nil || !r.OK || r.EventsVerified != 7 {
			t.Fatalf("offline report = %+v, %v", r, err)
		}
		// Chaining again links nothing new.
		if n, err := audit.NewChainer(d, audit.ChainerOptions{}).ChainPending(ctx); err != nil || n != 0 {
			t.Fatalf("second ChainPending = %d, %v", n, err)
		}
	})
}

// TestChainOutOfOrderCommit: an event that commits after a later-inserted
// one is chained after it, without gap.
func TestChainOutOfOrderCommit(t *testing.T) {
	d := testdb.Open(t, dialect.Postgres)
	ctx := viewer.SystemContext(context.Background())
	txA, err := d.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.Record(entTxCtx(ctx, txA), audit.Event{Action: "test.first-inserted"}); err != nil {
		t.Fatal(err)
	}
	if err := write(ctx, d, 2, nil); err != nil {
		t.Fatal(err)
	}
	ch := audit.NewChainer(d, audit.ChainerOptions{})
	if n, err := ch.ChainPending(ctx); err != nil || n != 1 {
		t.Fatalf("ChainPending = %d, %v; want 1", n, err)
	}
	if err := txA.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, err := ch.ChainPending(ctx); err != nil || n != 1 {
		t.Fatalf("ChainPending = %d, %v; want 1", n, err)
	}
	var action string
	if err := d.SQL.QueryRowContext(ctx, `SELECT action FROM audit_events WHERE seq = 2`).Scan(&action); err != nil || action != "test.first-inserted" {
		t.Fatalf("seq 2 = %q, %v; want the late commit", action, err)
	}
	if r := verifyDB(t, d); !r.OK || r.EventsVerified != 2 {
		t.Fatalf("report = %+v", r)
	}
}

// TestRunChainsAfterCommit: a running Chainer links an event soon after
// its transaction commits.
func TestRunChainsAfterCommit(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- audit.NewChainer(d, audit.ChainerOptions{Sweep: time.Hour}).Run(ctx)
		}()
		defer func() { cancel(); <-done }()
		// Record until a kick lands in a running loop.
		deadline := time.Now().Add(30 * time.Second)
		for i := 1; ; i++ {
			if err := write(ctx, d, i, nil); err != nil {
				t.Fatal(err)
			}
			head, _, err := audit.Head(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if head > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("no event was chained after commit")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

const helperEnv = "AUDIT_CHAIN_HELPER_URL"

const (
	procs, writers, perWriter = 2, 4, 25
)

// hammer runs writers goroutines that each record perWriter events in
// their own transactions and chain after every one, next to a running
// Chainer loop.
func hammer(t *testing.T, d *db.DB) {
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- audit.NewChainer(d, audit.ChainerOptions{Sweep: 10 * time.Millisecond}).Run(ctx) }()
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := audit.NewChainer(d, audit.ChainerOptions{Batch: 7})
			for i := 0; i < perWriter; i++ {
				if err := write(ctx, d, w*1000+i, map[string]any{"pid": os.Getpid(), "w": w, "i": i}); err != nil {
					errs <- err
					return
				}
				if _, err := ch.ChainPending(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	<-runDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// checkWhole chains what is left and asserts a whole chain of want events.
func checkWhole(t *testing.T, d *db.DB, want int) {
	t.Helper()
	ctx := context.Background()
	if _, err := audit.NewChainer(d, audit.ChainerOptions{}).ChainPending(ctx); err != nil {
		t.Fatal(err)
	}
	var total, unchained, maxSeq int
	if err := d.SQL.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) - COUNT(seq), COALESCE(MAX(seq), 0) FROM audit_events`).Scan(&total, &unchained, &maxSeq); err != nil {
		t.Fatal(err)
	}
	if total != want || unchained != 0 || maxSeq != want {
		t.Fatalf("events %d (want %d), unchained %d, max seq %d", total, want, unchained, maxSeq)
	}
	r := verifyDB(t, d)
	if !r.OK || r.EventsVerified != want {
		t.Fatalf("report = %+v, want ok with %d events", r, want)
	}
}

// TestConcurrentChainingSQLite: concurrent writers and chainers in one
// process on the embedded database produce one whole chain.
func TestConcurrentChainingSQLite(t *testing.T) {
	d, err := db.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "dezky.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	hammer(t, d)
	checkWhole(t, d, writers*perWriter)
}

// TestConcurrentChainingProcesses: two OS processes on one PostgreSQL
// database, each with concurrent writers that also chain, never fork or
// gap the chain.
func TestConcurrentChainingProcesses(t *testing.T) {
	url := testdb.URL(t, dialect.Postgres)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	for i := 0; i < procs; i++ {
		cmd := exec.Command(exe, "-test.run=^TestChainHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+url)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	d, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checkWhole(t, d, procs*writers*perWriter)
}

// TestChainHelperProcess is one server process of
// TestConcurrentChainingProcesses; it does nothing unless started by it.
func TestChainHelperProcess(t *testing.T) {
	url := os.Getenv(helperEnv)
	if url == "" {
		t.Skip("helper process of TestConcurrentChainingProcesses")
	}
	d, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	hammer(t, d)
}

// TestAtMicroseconds: an explicitly set at (an ingested upstream time) is
// stored truncated to microseconds, so it hashes the same on both
// databases.
func TestAtMicroseconds(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := viewer.SystemContext(context.Background())
		at := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
		ev, err := d.Client.AuditEvent.Create().SetAt(at).SetActorType("system").SetAction("test.ingested").Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := at.Truncate(time.Microsecond)
		if !ev.At.Equal(want) {
			t.Fatalf("at = %v, want %v", ev.At, want)
		}
		stored, err := d.Client.AuditEvent.Get(ctx, ev.ID)
		if err != nil || !stored.At.Equal(want) {
			t.Fatalf("stored at = %v, %v; want %v", stored.At, err, want)
		}
	})
}
