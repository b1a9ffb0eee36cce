package audit_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"iter"
	"path/filepath"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// benchDB opens a fresh database of the dialect (SQLite as a file, as
// embedded).
func benchDB(b *testing.B, name string) *db.DB {
	if name == dialect.Postgres {
		return testdb.Open(b, name)
	}
	d, err := db.Open(context.Background(), "sqlite://"+filepath.Join(b.TempDir(), "dezky.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkAppend compares appending events from 16 concurrent writers,
// each event in its own transaction, without chaining ("plain") and with
// two chainers linking them as they commit ("chained", the time includes
// linking the last ones); "chained-personal" writes events by a user with
// an e-mail and IP address and an address in metadata (three personal
// fields to seal per event).
func BenchmarkAppend(b *testing.B) {
	for _, name := range testdb.Dialects {
		for _, mode := range []string{"plain", "chained", "chained-personal"} {
			chained, personal := mode != "plain", mode == "chained-personal"
			b.Run(name+"/"+mode, func(b *testing.B) {
				d := benchDB(b, name)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var done []chan error
				if chained {
					for range 2 {
						ch := make(chan error, 1)
						go func() { ch <- audit.NewChainer(d, audit.ChainerOptions{Logger: quiet}).Run(ctx) }()
						done = append(done, ch)
					}
				}
				b.SetParallelism(max(1, 16/ncpu()))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i++
						if personal {
							if err := writeAs(ctx, d, i); err != nil {
								b.Error(err)
								return
							}
							continue
						}
						if err := write(ctx, d, i, map[string]any{"i": i}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				if chained {
					if _, err := audit.NewChainer(d, audit.ChainerOptions{}).ChainPending(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				cancel()
				for _, ch := range done {
					<-ch
				}
			})
		}
	}
}

// writeAs records one event by a user with an e-mail and IP address whose
// metadata names another address.
func writeAs(ctx context.Context, d *db.DB, i int) error {
	ctx = viewer.NewContext(ctx, &viewer.Viewer{Subject: "u1", Email: "ops@dezky.example", IP: "192.0.2.10"})
	return db.WithTx(ctx, d.Client, func(ctx context.Context) error {
		return audit.Record(ctx, audit.Event{Action: "member.invited", ResourceType: "Member", ResourceID: fmt.Sprint(i),
			Metadata: map[string]any{"i": i, "email": fmt.Sprintf("user%d@example.com", i)}})
	})
}

type sliceSource []audit.Entry

func (s sliceSource) Checkpoints(context.Context) ([]audit.Checkpoint, error) { return nil, nil }
func (s sliceSource) Events(context.Context) iter.Seq2[audit.Entry, error] {
	return func(yield func(audit.Entry, error) bool) {
		for _, e := range s {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func benchChain(b *testing.B, n int) (sliceSource, [][]byte) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	chain := make(sliceSource, n)
	canon := make([][]byte, n)
	prev := ""
	for i := range chain {
		tenant := int64(i % 50)
		e := audit.Entry{Seq: int64(i + 1), PrevHash: prev, At: at.Add(time.Duration(i) * time.Millisecond),
			Source: "platform", ActorType: "user", ActorID: "u1", ActorEmail: "ops@dezky.io", Action: "tenant.updated",
			Outcome: "SUCCESS", ResourceType: "Tenant", ResourceID: fmt.Sprint(tenant), ResourceName: "Acme",
			TenantID: &tenant, TenantSlug: "acme",
			Metadata: []byte(fmt.Sprintf(`{"seats":{"from":%d,"to":%d},"plan":{"from":"STARTER","to":"BUSINESS"}}`, i, i+1))}
		c, err := audit.Canonical(e)
		if err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256(c)
		e.Hash = fmt.Sprintf("%x", sum)
		chain[i], canon[i], prev = e, c, e.Hash
	}
	return chain, canon
}

// BenchmarkVerify measures verification throughput over an in-memory chain
// (canonicalisation + sha256 + link checks per event).
func BenchmarkVerify(b *testing.B) {
	const n = 10000
	chain, _ := benchChain(b, n)
	b.ResetTimer()
	for b.Loop() {
		r, err := audit.Verify(context.Background(), chain, nil)
		if err != nil || !r.OK {
			b.Fatalf("%+v, %v", r, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSHA256 is the floor for BenchmarkVerify: bare sha256 over the
// same canonical bytes.
func BenchmarkSHA256(b *testing.B) {
	const n = 10000
	_, canon := benchChain(b, n)
	b.ResetTimer()
	for b.Loop() {
		for _, c := range canon {
			sha256.Sum256(c)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerifySealed is BenchmarkVerify over sealed events (actor
// e-mail sealed, metadata without personal data), the format of every
// event chained by this release.
func BenchmarkVerifySealed(b *testing.B) {
	const n = 10000
	chain, _ := benchChain(b, n)
	prev := ""
	for i := range chain {
		e := &chain[i]
		e.PrevHash = prev
		if err := audit.SealEntry(e); err != nil {
			b.Fatal(err)
		}
		h, err := audit.HashEntry(*e)
		if err != nil {
			b.Fatal(err)
		}
		e.Hash, prev = h, h
	}
	b.ResetTimer()
	for b.Loop() {
		r, err := audit.Verify(context.Background(), chain, nil)
		if err != nil || !r.OK {
			b.Fatalf("%+v, %v", r, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
