package audit_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"testing"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// write records one event in its own transaction.
func write(ctx context.Context, d *db.DB, i int, meta map[string]any) error {
	ctx = viewer.SystemContext(ctx)
	return db.WithTx(ctx, d.Client, func(ctx context.Context) error {
		return audit.Record(ctx, audit.Event{
			Action: "test.write", ResourceType: "Thing", ResourceID: fmt.Sprint(i),
			ResourceName: fmt.Sprintf("thing \"%d\" ✓", i), Metadata: meta,
		})
	})
}

// writeN records n events and chains them.
func writeN(t *testing.T, d *db.DB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		meta := map[string]any{"i": i, "ratio": float64(i) / 3, "tags": []string{"a", "<b>"}, "nested": map[string]any{"z": nil, "a": true}}
		if i%3 == 0 {
			meta = nil
		}
		if err := write(ctx, d, i, meta); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := audit.NewChainer(d, audit.ChainerOptions{}).ChainPending(ctx); err != nil {
		t.Fatal(err)
	}
}

func verifyDB(t *testing.T, d *db.DB, keys ...*audit.SigningKey) audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), audit.DBSource(d), pubs(keys))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func pubs(keys []*audit.SigningKey) []ed25519.PublicKey {
	out := make([]ed25519.PublicKey, len(keys))
	for i, k := range keys {
		out[i] = k.Public
	}
	return out
}

// entTxCtx returns ctx carrying tx, as db.WithTx does.
func entTxCtx(ctx context.Context, tx *ent.Tx) context.Context {
	return ent.NewContext(ent.NewTxContext(ctx, tx), tx.Client())
}

var quiet = slog.New(slog.DiscardHandler)

func ncpu() int { return runtime.GOMAXPROCS(0) }
