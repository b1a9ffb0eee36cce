package app_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/archive"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestAuditArchiveCommand: `dezky audit archive` moves the events past the
// retention to the bucket (credentials from the environment, never
// printed), and archive + hot still verify as one chain.
func TestAuditArchiveCommand(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			backend := s3mem.New()
			if err := backend.CreateBucket("audit-bucket"); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(gofakes3.New(backend).Server())
			defer srv.Close()
			t.Setenv("DEZKY_S3_ACCESS_KEY", "cli-access")
			t.Setenv("DEZKY_S3_SECRET_KEY", "cli-secret-value")

			dataDir := t.TempDir()
			url := testdb.URL(t, dialect)
			d, err := db.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			sys := viewer.SystemContext(ctx)
			for i := 1; i <= 5; i++ {
				err := db.WithTx(sys, d.Client, func(ctx context.Context) error {
					return audit.Record(ctx, audit.Event{Action: "test.cli", ResourceID: fmt.Sprint(i)})
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if _, err := audit.NewChainer(d, audit.ChainerOptions{}).ChainPending(ctx); err != nil {
				t.Fatal(err)
			}
			key, err := audit.LoadOrCreateKey(dataDir)
			if err != nil {
				t.Fatal(err)
			}

			var stdout, stderr bytes.Buffer
			args := []string{"audit", "archive", "--data-dir", dataDir, "--database-url", url,
				"--s3-endpoint", srv.URL, "--bucket", "audit-bucket", "--retention", "1ns"}
			if err := app.Run(ctx, args, &stdout, &stderr); err != nil {
				t.Fatalf("archive: %v\n%s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), "archived seq 1-4 (4 events") || !strings.Contains(stdout.String(), "1 batches, 4 events") {
				t.Fatalf("archive output = %q", stdout.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), "cli-secret-value") {
				t.Fatal("the secret key was printed")
			}
			store, err := archive.NewS3Store(archive.S3Config{Endpoint: srv.URL, Bucket: "audit-bucket",
				AccessKey: "cli-access", SecretKey: "cli-secret-value"})
			if err != nil {
				t.Fatal(err)
			}
			r, err := archive.VerifyArchiveThenHot(ctx, store, "", audit.DBSource(d), []ed25519.PublicKey{key.Public})
			if err != nil || !r.OK || r.EventsVerified != 5 {
				t.Fatalf("verify = %+v, %v", r, err)
			}

			stdout.Reset()
			if err := app.Run(ctx, []string{"audit", "archive", "--data-dir", dataDir, "--database-url", url, "--bucket", "b"}, &stdout, &stderr); err == nil {
				t.Fatal("archive without --s3-endpoint succeeded")
			}
			if err := app.Run(ctx, append(args[:len(args)-1], "ten days"), &stdout, &stderr); err == nil {
				t.Fatal("bad retention accepted")
			}
		})
	}
}
