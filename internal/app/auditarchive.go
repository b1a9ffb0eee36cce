package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/internal/audit/archive"
)

// runAuditArchive runs `dezky audit archive`: one archiver run against the
// configured database and bucket. Credentials come from the environment
// (DEZKY_S3_ACCESS_KEY, DEZKY_S3_SECRET_KEY), never from flags.
func runAuditArchive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit archive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	endpoint := fs.String("s3-endpoint", env("DEZKY_S3_ENDPOINT", ""), "S3-compatible endpoint, host[:port] or http(s)://host[:port] (env DEZKY_S3_ENDPOINT)")
	region := fs.String("s3-region", env("DEZKY_S3_REGION", "us-east-1"), "S3 region (env DEZKY_S3_REGION)")
	bucket := fs.String("bucket", env("DEZKY_S3_BUCKET", ""), "bucket (env DEZKY_S3_BUCKET)")
	prefix := fs.String("prefix", archive.DefaultPrefix, "object key prefix")
	sse := fs.Bool("sse", env("DEZKY_S3_SSE", "") == "true", "request server-side encryption (SSE-S3) on every object (env DEZKY_S3_SSE=true)")
	retention := fs.String("retention", "90d", "hot retention: <n>d or a Go duration (e.g. 2160h)")
	batch := fs.Int("batch", archive.DefaultBatchSize, "most events per archive batch")
	keyPath := fs.String("signing-key", env("DEZKY_AUDIT_SIGNING_KEY", ""), "audit signing key file; empty means the data dir's generated key (env DEZKY_AUDIT_SIGNING_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *endpoint == "" || *bucket == "" {
		return errors.New("audit archive: --s3-endpoint and --bucket are required")
	}
	ret, err := parseRetention(*retention)
	if err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	key, err := loadSigningKey(*keyPath, c.dataDir)
	if err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	cfg := s3Config(*endpoint, *region, *bucket, *sse)
	store, err := archive.NewS3Store(cfg)
	if err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	d, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	logger.InfoContext(ctx, "audit archive", "store", cfg, "retention", ret)
	a, err := archive.New(d, store, key, *prefix, logger)
	if err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	res, err := a.RunOnce(ctx, archive.Options{Retention: ret, BatchSize: *batch})
	for _, b := range res.Batches {
		fmt.Fprintf(stdout, "archived seq %d-%d (%d events, %d bytes) to %s\n", b.StartSeq, b.EndSeq, b.Events, b.Bytes, b.JSONLKey)
	}
	if err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	fmt.Fprintf(stdout, "%d batches, %d events moved out of the database\n", len(res.Batches), res.Events)
	return nil
}

// parseRetention parses "<n>d" (days) or a Go duration.
func parseRetention(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("retention %q: want a positive number of days", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("retention %q: want <n>d or a positive duration", s)
	}
	return d, nil
}
