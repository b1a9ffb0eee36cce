package auditstream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/archive"
	"github.com/dezky/platform/internal/auditstream"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// collector is an HTTP audit collector: it records the events of every
// accepted batch, per stream.
type collector struct {
	*httptest.Server
	mu   sync.Mutex
	fail int // answer 500 while > 0 (counting down), always when < 0
	seqs map[int][]int64
	bad  []string
}

func newCollector(t *testing.T) *collector {
	c := &collector{seqs: map[int][]int64{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.fail != 0 {
			if c.fail > 0 {
				c.fail--
			}
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var batch struct {
			Stream int               `json:"stream"`
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(body, &batch); err != nil {
			c.bad = append(c.bad, err.Error())
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		for _, raw := range batch.Events {
			// Each event is an export line: it must parse and hash.
			e, err := audit.ParseLine(raw)
			if err != nil {
				c.bad = append(c.bad, err.Error())
				continue
			}
			if h, _ := audit.HashEntry(e); h != e.Hash {
				c.bad = append(c.bad, "hash mismatch")
			}
			c.seqs[batch.Stream] = append(c.seqs[batch.Stream], e.Seq)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) setFail(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = n
}

// got returns the distinct seqs stream received, in first-arrival order.
func (c *collector) got(stream int) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return distinct(c.seqs[stream])
}

func distinct(xs []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chain returns the seqs of the chained events, all or of one tenant.
func chain(t *testing.T, s *testserver.Server, tenantSlug string) []int64 {
	t.Helper()
	ctx := viewer.SystemContext(context.Background())
	q := s.DB.Client.AuditEvent.Query()
	evs, err := q.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range evs {
		if e.Seq != nil && (tenantSlug == "" || e.TenantSlug == tenantSlug) {
			out = append(out, *e.Seq)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func prefixOf(got, want []int64) bool {
	if len(got) < len(want) {
		return false
	}
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

const createStream = `mutation($in: CreateAuditStreamInput!) { createAuditStream(input: $in) { id scope tenantSlug kind } }`

type stream struct {
	ID         string `json:"id"`
	Scope      string `json:"scope"`
	TenantSlug string `json:"tenantSlug"`
}

func create(t *testing.T, s *testserver.Server, as string, in map[string]any) (stream, int) {
	t.Helper()
	var out struct {
		C stream `json:"createAuditStream"`
	}
	s.Query(as, createStream, map[string]any{"in": in}).Decode(t, &out)
	var id int
	if err := json.Unmarshal([]byte(out.C.ID), &id); err != nil {
		t.Fatalf("stream id %q: %v", out.C.ID, err)
	}
	return out.C, id
}

func touch(t *testing.T, s *testserver.Server, slug, industry string) {
	t.Helper()
	s.Query("operator", `mutation($s: String!, $i: String!) { updateTenant(slug: $s, input: {industry: $i}) { id } }`,
		map[string]any{"s": slug, "i": industry}).Decode(t, &struct{}{})
}

// TestStreams exports the chain to an HTTP collector (after receiver
// errors, from seq 0, a tenant's stream only its events), to S3 as JSONL
// objects, shows the lag in health, and re-exports after a cursor move.
func TestStreams(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			backend := s3mem.New()
			if err := backend.CreateBucket("audit-export"); err != nil {
				t.Fatal(err)
			}
			s3srv := httptest.NewServer(gofakes3.New(backend).Server())
			t.Cleanup(s3srv.Close)
			s3cfg := archive.S3Config{Endpoint: s3srv.URL, Region: "us-east-1", Bucket: "unused", AccessKey: "test-access", SecretKey: "test-secret-value"}
			s := testserver.StartWith(t, d, func(cfg *app.ServeConfig) {
				cfg.WebhooksAllowPrivate = true
				cfg.AuditStreams = auditstream.Config{S3: &s3cfg, BackoffBase: 20 * time.Millisecond,
					BackoffMax: 100 * time.Millisecond, PollInterval: 100 * time.Millisecond}
			})
			col := newCollector(t)
			col.setFail(2)
			_, all := create(t, s, "operator", map[string]any{"kind": "HTTP", "url": col.URL + "/all", "startAfterSeq": 0, "batchSize": 5})
			acme, acmeID := create(t, s, "admin:acme", map[string]any{"kind": "HTTP", "url": col.URL + "/acme", "startAfterSeq": 0})
			if acme.Scope != "TENANT" || acme.TenantSlug != "acme" {
				t.Fatalf("admin's stream %+v, want TENANT acme", acme)
			}
			if rsp := s.Query("admin:acme", createStream, map[string]any{"in": map[string]any{"kind": "S3", "bucket": "audit-export"}}); rsp.Code() != "FORBIDDEN" {
				t.Fatalf("tenant admin creates an S3 stream: %s", rsp.Body)
			}
			if rsp := s.Query("admin:globex", createStream, map[string]any{"in": map[string]any{"kind": "HTTP", "url": col.URL, "tenantSlug": "acme"}}); rsp.Code() != "NOT_FOUND" {
				t.Fatalf("another tenant's admin creates acme's stream: %s", rsp.Body)
			}
			create(t, s, "operator", map[string]any{"kind": "S3", "bucket": "audit-export", "prefix": "siem", "startAfterSeq": 0})
			touch(t, s, "acme", "streamed")
			touch(t, s, "globex", "streamed")

			var want []int64
			waitFor(t, "the whole chain at the collector", func() bool {
				want = chain(t, s, "")
				return len(want) > 0 && prefixOf(col.got(all), want)
			})
			waitFor(t, "acme's events at the collector", func() bool {
				return prefixOf(col.got(acmeID), chain(t, s, "acme"))
			})
			if got, acmeWant := col.got(acmeID), chain(t, s, "acme"); len(got) != len(acmeWant) {
				t.Fatalf("acme's stream got %v, want only acme's %v", got, acmeWant)
			}
			// S3: JSONL objects holding the chain from seq 1.
			store, err := archive.NewS3Store(func() archive.S3Config { c := s3cfg; c.Bucket = "audit-export"; return c }())
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the chain in S3", func() bool {
				objs, err := store.List(context.Background(), "siem/")
				if err != nil {
					return false
				}
				var seqs []int64
				for _, o := range objs {
					body, err := store.Get(context.Background(), o.Key)
					if err != nil {
						return false
					}
					for _, l := range bytes.Split(bytes.TrimSpace(body), []byte{'\n'}) {
						e, err := audit.ParseLine(l)
						if err != nil {
							t.Fatalf("object %s: %v", o.Key, err)
						}
						seqs = append(seqs, e.Seq)
					}
				}
				return prefixOf(distinct(seqs), want)
			})
			if len(col.bad) > 0 {
				t.Fatalf("collector rejected: %v", col.bad)
			}

			// Lag: the collector is down; health shows the backlog.
			col.setFail(-1)
			touch(t, s, "acme", "lagging")
			lag := func() int {
				var h struct {
					H struct {
						S []struct {
							Stream struct{ ID string } `json:"stream"`
							Events int                 `json:"events"`
						} `json:"auditStreams"`
					} `json:"health"`
				}
				s.Query("operator", `{ health { auditStreams { stream { id } events } } }`, nil).Decode(t, &h)
				for _, x := range h.H.S {
					if x.Stream.ID == acme.ID {
						return x.Events
					}
				}
				t.Fatalf("stream %s not in health", acme.ID)
				return 0
			}
			waitFor(t, "a lag in health", func() bool { return lag() > 0 })
			col.setFail(0)
			waitFor(t, "the lag to clear", func() bool { return lag() == 0 })

			// Re-export from the start.
			before := len(col.seqs[acmeID])
			s.Query("admin:acme", `mutation($id: ID!) { updateAuditStream(id: $id, input: {resumeAfterSeq: 0}) { id } }`,
				map[string]any{"id": acme.ID}).Decode(t, &struct{}{})
			waitFor(t, "the re-export", func() bool {
				col.mu.Lock()
				defer col.mu.Unlock()
				return len(col.seqs[acmeID]) >= before+len(chain(t, s, "acme"))
			})
		})
	}
}
