package app_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// TestWitnessCommand: `dezky witness` trusting the server's log key
// cosigns the checkpoints `dezky serve --audit-witness` submits to it, and
// /audit/log/checkpoint serves the note with the cosignature.
func TestWitnessCommand(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			keyDir := t.TempDir()
			if _, err := audit.LoadOrCreateKey(keyDir); err != nil {
				t.Fatal(err)
			}
			keyFile := filepath.Join(keyDir, audit.DefaultKeyFile)
			ctx, cancel := context.WithCancel(context.Background())
			out := &syncBuffer{}
			done := make(chan error, 1)
			go func() {
				done <- app.Run(ctx, []string{"witness", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(),
					"--name", "witness.example/w", "--log-key", audit.PublicKeyPath(keyFile)}, out, io.Discard)
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("witness: %v", err)
				}
			}()
			re := regexp.MustCompile(`listening on (http://\S+)`)
			var url string
			for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if m := re.FindStringSubmatch(out.String()); m != nil {
					url = m[1]
				}
			}
			if url == "" {
				t.Fatalf("witness did not start: %s", out.String())
			}
			s := testserver.StartWith(t, d, func(c *app.ServeConfig) {
				c.AuditKeyFile = keyFile
				c.AuditWitnesses = []string{url}
			})
			var cp struct {
				CreateAuditCheckpoint struct {
					Note         string
					Cosignatures []struct{ Name, Line string }
				}
			}
			s.Query("operator", `mutation { createAuditCheckpoint { headSeq note cosignatures { headSeq witness name line at } } }`, nil).Decode(t, &cp)
			c := cp.CreateAuditCheckpoint
			if c.Note == "" || len(c.Cosignatures) != 1 || c.Cosignatures[0].Name != "witness.example/w" {
				t.Fatalf("checkpoint = %+v", c)
			}
			rsp, err := http.Get(s.URL + "/audit/log/checkpoint")
			if err != nil {
				t.Fatal(err)
			}
			note, _ := io.ReadAll(rsp.Body)
			rsp.Body.Close()
			if rsp.StatusCode != http.StatusOK || !strings.Contains(string(note), "\n— witness.example/w ") {
				t.Fatalf("checkpoint %d without the witness cosignature:\n%s", rsp.StatusCode, note)
			}
		})
	}
}
