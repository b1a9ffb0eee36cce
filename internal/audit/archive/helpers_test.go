package archive_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/archive"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

const testBucket = "dezky-audit"

// fakeS3 starts an in-process S3 server on loopback with one bucket and
// returns its config.
func fakeS3(t testing.TB) archive.S3Config {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return archive.S3Config{Endpoint: srv.URL, Region: "us-east-1", Bucket: testBucket,
		AccessKey: "test-access", SecretKey: "test-secret-value"}
}

func newS3Store(t testing.TB) *archive.S3Store {
	t.Helper()
	s, err := archive.NewS3Store(fakeS3(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// faultStore fails the operations for which fail returns an error.
type faultStore struct {
	archive.Store
	mu   sync.Mutex
	fail func(op, key string) error
}

func (f *faultStore) check(op, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		return nil
	}
	return f.fail(op, key)
}

func (f *faultStore) Put(ctx context.Context, key string, body []byte, ct string) (archive.ObjectInfo, error) {
	if err := f.check("put", key); err != nil {
		return archive.ObjectInfo{}, err
	}
	return f.Store.Put(ctx, key, body, ct)
}

func (f *faultStore) Head(ctx context.Context, key string) (archive.ObjectInfo, error) {
	if err := f.check("head", key); err != nil {
		return archive.ObjectInfo{}, err
	}
	return f.Store.Head(ctx, key)
}

var errInjected = errors.New("injected failure")

// writeEvents records n events, chains them and returns their count.
func writeEvents(t testing.TB, d *db.DB, n int) {
	t.Helper()
	ctx := context.Background()
	sys := viewer.SystemContext(ctx)
	for i := 1; i <= n; i++ {
		meta := map[string]any{"i": i, "big": 9007199254740993, "ratio": float64(i) / 7, "tags": []string{"x", "<y>"}}
		if i%4 == 0 {
			meta = nil
		}
		err := db.WithTx(sys, d.Client, func(ctx context.Context) error {
			return audit.Record(ctx, audit.Event{Action: "test.archive", ResourceType: "Thing",
				ResourceID: fmt.Sprint(i), ResourceName: fmt.Sprintf("thing \"%d\" ✓", i), Metadata: meta})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := audit.NewChainer(d, audit.ChainerOptions{}).ChainPending(ctx); err != nil {
		t.Fatal(err)
	}
}

func hotSeqs(t testing.TB, d *db.DB) []int64 {
	t.Helper()
	rows, err := d.SQL.QueryContext(context.Background(), `SELECT seq FROM audit_events WHERE seq IS NOT NULL ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func archivedSeqs(t testing.TB, s archive.Store, key *audit.SigningKey) []int64 {
	t.Helper()
	src := archive.NewSource(s, "", []ed25519.PublicKey{key.Public})
	var out []int64
	for e, err := range src.Events(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Seq)
	}
	if b := src.ManifestBreak(); b != nil {
		t.Fatalf("archive manifest break: %+v", *b)
	}
	return out
}

// assertExactlyOnce checks that every seq 1..n is in hot ∪ archive exactly
// once.
func assertExactlyOnce(t testing.TB, d *db.DB, s archive.Store, key *audit.SigningKey, n int64) {
	t.Helper()
	count := map[int64]int{}
	for _, q := range hotSeqs(t, d) {
		count[q]++
	}
	for _, q := range archivedSeqs(t, s, key) {
		count[q]++
	}
	for q := int64(1); q <= n; q++ {
		if count[q] != 1 {
			t.Errorf("seq %d is present %d times in hot ∪ archive", q, count[q])
		}
	}
	if len(count) != int(n) {
		t.Errorf("hot ∪ archive holds %d distinct seqs, want %d", len(count), n)
	}
}

// assertNoneLost checks that every seq 1..n is in hot ∪ archive at least
// once.
func assertNoneLost(t testing.TB, d *db.DB, s archive.Store, key *audit.SigningKey, n int64) {
	t.Helper()
	seen := map[int64]bool{}
	for _, q := range hotSeqs(t, d) {
		seen[q] = true
	}
	for _, q := range archivedSeqs(t, s, key) {
		seen[q] = true
	}
	for q := int64(1); q <= n; q++ {
		if !seen[q] {
			t.Errorf("seq %d is neither hot nor archived", q)
		}
	}
}

func verifyAll(t testing.TB, d *db.DB, s archive.Store, key *audit.SigningKey) audit.Report {
	t.Helper()
	r, err := archive.VerifyArchiveThenHot(context.Background(), s, "", audit.DBSource(d), []ed25519.PublicKey{key.Public})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newKey(t testing.TB) *audit.SigningKey {
	t.Helper()
	k, err := audit.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var quiet = slog.New(slog.DiscardHandler)
