package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/ingestcursor"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// The sources, as stored in the audit events' source column and the
// IngestCursor rows.
const (
	SourceIdentity = "authentik"
	SourceMail     = "stalwart"
	SourceStorage  = "ocis"
)

// Defaults of a Config.
const (
	DefaultIdentityInterval = 60 * time.Second
	DefaultStorageInterval  = 5 * time.Second
	DefaultPageSize         = 100
	DefaultMaxPages         = 10
	DefaultMaxWebhookBody   = 4 << 20
)

// Providers is the set of capabilities the ingest reads; *host.Host
// implements it.
type Providers interface {
	Identity() (sdk.Identity, error)
	Mail() (sdk.Mail, error)
	Storage() (sdk.Storage, error)
}

// Config configures an Ingestor; zero values take the defaults.
type Config struct {
	Client *ent.Client
	// Providers may be nil: nothing is ingested and the webhook answers
	// 503.
	Providers        Providers
	IdentityInterval time.Duration
	StorageInterval  time.Duration
	// PageSize is the most events (or log lines) read per page.
	PageSize int
	// MaxPages caps the pages one tick reads.
	MaxPages int
	// MaxWebhookBody is the largest webhook body accepted, in bytes.
	MaxWebhookBody int64
	Log            *slog.Logger
}

// Ingestor runs the identity and storage workers and serves the mail
// webhook.
type Ingestor struct {
	cfg      Config
	identity sync.Mutex // one identity tick at a time
	storage  sync.Mutex // one storage tick at a time
}

// New returns an Ingestor.
func New(cfg Config) *Ingestor {
	if cfg.IdentityInterval <= 0 {
		cfg.IdentityInterval = DefaultIdentityInterval
	}
	if cfg.StorageInterval <= 0 {
		cfg.StorageInterval = DefaultStorageInterval
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.MaxPages <= 0 {
		cfg.MaxPages = DefaultMaxPages
	}
	if cfg.MaxWebhookBody <= 0 {
		cfg.MaxWebhookBody = DefaultMaxWebhookBody
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Ingestor{cfg: cfg}
}

// Result reports one tick.
type Result struct {
	// Read is how many upstream events (or log lines) were read.
	Read int
	// Written is how many new audit events were written.
	Written int
	// Pages is how many pages were committed.
	Pages int
	// More is true when the tick stopped at Config.MaxPages with a full
	// last page: the next tick has more to read.
	More bool
	// Skipped is true when the tick did nothing because another tick of
	// the same source was running.
	Skipped bool
}

// Run runs the identity and storage workers until ctx ends, then returns
// (for a single process; the server runs IngestIdentity and IngestStorage
// as periodic jobs instead, once per interval across replicas).
// Each ticks once at start and then every interval; a failed tick is
// logged and retried at the next one. Without Providers it only waits.
func (in *Ingestor) Run(ctx context.Context) {
	if in.cfg.Providers == nil {
		<-ctx.Done()
		return
	}
	var wg sync.WaitGroup
	loop := func(name string, every time.Duration, tick func(context.Context) (Result, error)) {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			r, err := tick(ctx)
			switch {
			case err != nil && ctx.Err() == nil && !sdk.IsUnsupported(err):
				in.cfg.Log.WarnContext(ctx, "audit ingest tick failed", "source", name, "err", err)
			case r.Written > 0:
				in.cfg.Log.InfoContext(ctx, "audit events ingested", "source", name, "read", r.Read, "written", r.Written)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
	wg.Add(2)
	go loop(SourceIdentity, in.cfg.IdentityInterval, in.IngestIdentity)
	go loop(SourceStorage, in.cfg.StorageInterval, in.IngestStorage)
	wg.Wait()
}

// errCursorMoved ends a tick whose cursor another replica advanced.
var errCursorMoved = errors.New("ingest: cursor moved by another replica")

// system returns ctx acting as the system viewer.
func system(ctx context.Context) context.Context { return viewer.SystemContext(ctx) }

// loadCursor returns the stored cursor of source, creating its row (with
// the empty cursor) when it does not exist yet.
func (in *Ingestor) loadCursor(ctx context.Context, source string) (string, error) {
	ctx = system(ctx)
	err := in.cfg.Client.IngestCursor.Create().SetSource(source).
		OnConflict(entsql.ConflictColumns(ingestcursor.FieldSource), entsql.DoNothing()).
		Exec(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("ingest: create %s cursor: %w", source, err)
	}
	c, err := in.cfg.Client.IngestCursor.Query().Where(ingestcursor.Source(source)).Only(ctx)
	if err != nil {
		return "", fmt.Errorf("ingest: load %s cursor: %w", source, err)
	}
	return c.Cursor, nil
}

// Cursor returns the stored cursor of source ("" when none is stored).
func (in *Ingestor) Cursor(ctx context.Context, source string) (string, error) {
	c, err := in.cfg.Client.IngestCursor.Query().Where(ingestcursor.Source(source)).Only(system(ctx))
	if ent.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("ingest: load %s cursor: %w", source, err)
	}
	return c.Cursor, nil
}

// commitPage writes evs and advances source's cursor from old to next in
// one transaction, and returns how many events were new.
func (in *Ingestor) commitPage(ctx context.Context, source, old, next string, evs []audit.ExternalEvent) (int, error) {
	written := 0
	err := db.WithTx(system(ctx), in.cfg.Client, func(ctx context.Context) error {
		n, err := record(ctx, evs)
		if err != nil {
			return err
		}
		written = n
		if next == old {
			return nil
		}
		moved, err := ent.FromContext(ctx).IngestCursor.Update().
			Where(ingestcursor.Source(source), ingestcursor.Cursor(old)).
			SetCursor(next).Save(ctx)
		if err != nil {
			return fmt.Errorf("ingest: advance %s cursor: %w", source, err)
		}
		if moved != 1 {
			return errCursorMoved
		}
		return nil
	})
	return written, err
}

// record writes evs in ctx's transaction and returns how many were new.
func record(ctx context.Context, evs []audit.ExternalEvent) (int, error) {
	n := 0
	for _, e := range evs {
		ok, err := audit.RecordExternal(ctx, e)
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// anyMap copies m into a metadata value.
func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// pageReader reads one page after cursor and returns how many upstream
// items it read, the cursor after them and the events to write.
type pageReader func(ctx context.Context, cursor string, r *resolver) (n int, next string, evs []audit.ExternalEvent, err error)

// pull runs one tick of a pulled source: read pages from the stored cursor
// and commit each page with its cursor advance.
func (in *Ingestor) pull(ctx context.Context, mu *sync.Mutex, source string, read pageReader) (Result, error) {
	if !mu.TryLock() {
		return Result{Skipped: true}, nil
	}
	defer mu.Unlock()
	var res Result
	cur, err := in.loadCursor(ctx, source)
	if err != nil {
		return res, err
	}
	r := newResolver(in.cfg.Client)
	for range in.cfg.MaxPages {
		n, next, evs, err := read(ctx, cur, r)
		if err != nil {
			return res, err
		}
		res.Read += n
		if n == 0 && next == cur {
			return res, nil
		}
		w, err := in.commitPage(ctx, source, cur, next, evs)
		if errors.Is(err, errCursorMoved) {
			in.cfg.Log.InfoContext(ctx, "audit ingest: cursor moved by another replica; tick ends", "source", source)
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.Written += w
		res.Pages++
		cur = next
		if n < in.cfg.PageSize {
			return res, nil
		}
	}
	res.More = true
	return res, nil
}
