package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/witness"
)

// runWitness runs `dezky witness`: a C2SP tlog-witness cosigning the audit
// checkpoints of the logs whose public keys it is given, until ctx ends.
func runWitness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	dataDir := fs.String("data-dir", "./witness-data", "directory of the witness key (witness.key, generated at first start) and the witnessed tree of each log")
	name := fs.String("name", "", "witness key name in its cosignatures (default: dezky-witness/<key id>)")
	var logKeys fileList
	fs.Var(&logKeys, "log-key", "public key file (PEM or base64) of a log to witness, for example the server's /audit/signing-key.pub (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(logKeys) == 0 {
		return errors.New("witness: at least one --log-key is required")
	}
	var keys []ed25519.PublicKey
	for _, f := range logKeys {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("witness: %w", err)
		}
		k, err := audit.ParsePublicKey(data)
		if err != nil {
			return fmt.Errorf("witness: %s: %w", filepath.Base(f), err)
		}
		keys = append(keys, k)
	}
	key, err := audit.LoadOrCreateKeyFile(filepath.Join(*dataDir, "witness.key"))
	if err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	if *name == "" {
		*name = "dezky-witness/" + key.ID
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	w, err := witness.New(*name, key.Private, filepath.Join(*dataDir, "state"), keys, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	fmt.Fprintf(stdout, "witness %s listening on http://%s%s\nverifier key: %s\n", *name, ln.Addr(), witness.AddCheckpointPath, w.VerifierKey())
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("witness: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
