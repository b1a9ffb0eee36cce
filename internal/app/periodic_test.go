package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dezky/platform/ent/idempotencykey"
	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestServerExpiresIdempotencyKeys: a started server deletes the
// idempotency keys past their window (its periodic job) and keeps the
// others, on both databases.
func TestServerExpiresIdempotencyKeys(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := viewer.SystemContext(context.Background())
			url := testdb.URL(t, dialect)
			d, err := db.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			for key, age := range map[string]time.Duration{"old": 25 * time.Hour, "fresh": time.Minute} {
				if err := d.Client.IdempotencyKey.Create().SetScope("someone").SetKey(key).SetRequestHash("h").
					SetResponse([]byte("{}")).SetCreatedAt(time.Now().Add(-age)).Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
			d.Close()

			s, err := app.Start(context.Background(), app.ServeConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: url,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			deadline := time.Now().Add(time.Minute)
			for {
				keys, err := s.DB.Client.IdempotencyKey.Query().Select(idempotencykey.FieldKey).Strings(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(keys) == 1 && keys[0] == "fresh" {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("keys left = %v, want only the fresh one", keys)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
