package app

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dezky/platform/internal/audit"
)

// runAuditVerifyProof runs `dezky audit verify-proof --public-key FILE
// bundle.json`: it checks a proof bundle from GET /audit/events/{seq}/proof
// offline, with only the log's public key.
func runAuditVerifyProof(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit verify-proof", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keyFiles fileList
	fs.Var(&keyFiles, "public-key", "trusted public key file, PEM or base64 (repeatable; obtain it independently of the bundle)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dezky audit verify-proof --public-key FILE bundle.json")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(keyFiles) == 0 || fs.NArg() != 1 {
		fs.Usage()
		return errors.New("audit verify-proof: --public-key and one bundle file are required")
	}
	var keys []ed25519.PublicKey
	for _, f := range keyFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("audit verify-proof: %w", err)
		}
		k, err := audit.ParsePublicKey(data)
		if err != nil {
			return fmt.Errorf("audit verify-proof: %s: %w", filepath.Base(f), err)
		}
		keys = append(keys, k)
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("audit verify-proof: %w", err)
	}
	e, th, err := audit.VerifyBundle(data, keys)
	if err != nil {
		fmt.Fprintf(stdout, "not verified: %v\n", err)
		return fmt.Errorf("audit verify-proof: %w", err)
	}
	fmt.Fprintf(stdout, "ok: event seq %d (%s) is in the log %s of %d events, root %s\n", e.Seq, e.Action, th.Origin, th.Size, th.Root)
	return nil
}
