package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dezky/platform/internal/audit"
)

// runAudit runs `dezky audit verify|export|archive`.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		auditUsage(stderr)
		return errors.New("audit: missing subcommand")
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(ctx, args[1:], stdout, stderr)
	case "export":
		return runAuditExport(ctx, args[1:], stdout, stderr)
	case "archive":
		return runAuditArchive(ctx, args[1:], stdout, stderr)
	case "verify-proof":
		return runAuditVerifyProof(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		auditUsage(stdout)
		return nil
	default:
		auditUsage(stderr)
		return fmt.Errorf("audit: unknown subcommand %q", args[0])
	}
}

func auditUsage(w io.Writer) {
	fmt.Fprint(w, `usage: dezky audit <subcommand> [flags]

subcommands:
  export   write the audit chain, its checkpoints and the public key from the database to a directory
  verify   verify an exported or archived directory offline, with only the public key
  archive  move chained events older than the hot retention to S3-compatible storage
  verify-proof  check an event's proof bundle (GET /audit/events/{seq}/proof) offline, with only the public key

Run 'dezky audit <subcommand> -h' for the flags.
`)
}

// fileList is a repeatable flag.
type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

func runAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "export directory (events*.jsonl, checkpoints.jsonl)")
	var keyFiles fileList
	fs.Var(&keyFiles, "public-key", "trusted public key file, PEM or base64 (repeatable; obtain it independently of the export)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || len(keyFiles) == 0 {
		return errors.New("audit verify: --dir and --public-key are required")
	}
	var keys []ed25519.PublicKey
	for _, f := range keyFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		k, err := audit.ParsePublicKey(data)
		if err != nil {
			return fmt.Errorf("audit verify: %s: %w", filepath.Base(f), err)
		}
		keys = append(keys, k)
	}
	r, err := audit.Verify(ctx, audit.DirSource(*dir), keys)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if r.OK {
		fmt.Fprintf(stdout, "ok: %d events and %d checkpoints verified\n", r.EventsVerified, r.CheckpointsVerified)
		return nil
	}
	b := r.Break
	fmt.Fprintf(stdout, "broken: %s at seq %d\n  expected: %s\n  actual:   %s\n(%d events and %d checkpoints verified before it)\n",
		b.Kind, b.Seq, b.Expected, b.Actual, r.EventsVerified, r.CheckpointsVerified)
	return fmt.Errorf("audit verify: chain broken: %s at seq %d", b.Kind, b.Seq)
}

func runAuditExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	dir := fs.String("dir", "", "directory to write the export to (created if missing)")
	keyPath := fs.String("signing-key", env("DEZKY_AUDIT_SIGNING_KEY", ""), "configured audit signing key file whose published public key (same name, .pub) is exported; empty means the data dir's generated key (env DEZKY_AUDIT_SIGNING_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("audit export: --dir is required")
	}
	if *keyPath == "" {
		*keyPath = filepath.Join(c.dataDir, audit.DefaultKeyFile)
	}
	pubData, err := os.ReadFile(audit.PublicKeyPath(*keyPath))
	if err != nil {
		return fmt.Errorf("audit export: public key: %w", err)
	}
	pub, err := audit.ParsePublicKey(pubData)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	d, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	events, cps, err := audit.Export(ctx, audit.DBSource(d), *dir, pub)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	fmt.Fprintf(stdout, "exported %d events and %d checkpoints to %s\n", events, cps, *dir)
	return nil
}
