package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestAuditExportVerify: `dezky audit export` writes the chain, its
// checkpoints and the public key; `dezky audit verify` checks it offline
// with only the public key, and reports the exact break of a tampered
// export.
func TestAuditExportVerify(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dataDir, out := t.TempDir(), t.TempDir()
			url := testdb.URL(t, dialect)
			d, err := db.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			sys := viewer.SystemContext(ctx)
			for i := 1; i <= 4; i++ {
				err := db.WithTx(sys, d.Client, func(ctx context.Context) error {
					return audit.Record(ctx, audit.Event{Action: "test.cli", ResourceID: fmt.Sprint(i), Metadata: map[string]any{"i": i}})
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
			if _, _, err := audit.NewCheckpointer(d, key, audit.CheckpointerOptions{}).Checkpoint(ctx, audit.ReasonManual); err != nil {
				t.Fatal(err)
			}

			var stdout, stderr bytes.Buffer
			if err := app.Run(ctx, []string{"audit", "export", "--data-dir", dataDir, "--database-url", url, "--dir", out}, &stdout, &stderr); err != nil {
				t.Fatalf("export: %v\n%s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), "exported 4 events and 1 checkpoints") {
				t.Fatalf("export output = %q", stdout.String())
			}
			pub := filepath.Join(dataDir, "audit-signing.pub")
			stdout.Reset()
			if err := app.Run(ctx, []string{"audit", "verify", "--dir", out, "--public-key", pub}, &stdout, &stderr); err != nil {
				t.Fatalf("verify: %v\n%s", err, stdout.String())
			}
			if !strings.Contains(stdout.String(), "ok: 4 events and 1 checkpoints verified") {
				t.Fatalf("verify output = %q", stdout.String())
			}

			// Tamper with the export: change the resource of seq 2.
			path := filepath.Join(out, audit.EventsFile)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(data), "\n")
			lines[1] = strings.Replace(lines[1], `"resourceId":"2"`, `"resourceId":"20"`, 1)
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			stdout.Reset()
			err = app.Run(ctx, []string{"audit", "verify", "--dir", out, "--public-key", pub}, &stdout, &stderr)
			if err == nil || !strings.Contains(stdout.String(), "broken: event-hash-mismatch at seq 2") {
				t.Fatalf("verify of tampered export = %v, %q", err, stdout.String())
			}

			// Without a trusted key, verify refuses to run.
			if err := app.Run(ctx, []string{"audit", "verify", "--dir", out}, &stdout, &stderr); err == nil {
				t.Fatal("verify without --public-key succeeded")
			}
		})
	}
}
