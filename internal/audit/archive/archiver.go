// Package archive moves old chained audit events from the database ("hot")
// to S3-compatible object storage ("archive") without ever losing,
// duplicating or unlinking an event, and verifies the archive and the hot
// rows as one chain.
//
// # Batches and objects
//
// Archiver.RunOnce archives a prefix of the chain: the events from the
// first hot seq on, in seq order, up to (excluding) the first event not
// older than the retention, and never the chain head itself (the chainer
// links new events after the newest hot row, so the head always stays hot).
// Events are cut into batches of at most Options.BatchSize. A batch
// startSeq..endSeq is stored as two objects with keys fixed by its range
// (seqs zero-padded to 20 digits, so key order is seq order):
//
//	<prefix><startSeq>-<endSeq>.jsonl.gz       gzip of one audit.MarshalLine per event, each ending in "\n"
//	<prefix><startSeq>-<endSeq>.manifest.json  the signed Manifest (see Manifest.Message for the signed bytes)
//
// # Crash safety
//
// Every batch goes through these steps; a failure at any step leaves a
// state the next RunOnce completes:
//
//  1. an AuditArchive row (status "uploading") records the range, before
//     any object is written;
//  2. the JSONL object, then the manifest, are put (a retry overwrites them:
//     the keys depend only on the range);
//  3. both objects are confirmed by HEAD (size, and ETag where the store
//     reported one on Put);
//  4. the row becomes "uploaded" with the digests and the size;
//  5. the hot rows of the range are deleted in chunks of
//     Options.DeleteChunk, each chunk its own transaction;
//  6. the row becomes "archived".
//
// RunOnce first resumes every batch not yet "archived", on its recorded
// range, before it starts a new one. An "uploading" batch still has all its
// hot rows (nothing is deleted before step 4), so it is uploaded again from
// them. An "uploaded" batch has its objects re-read and checked (manifest
// sha256 against the row, signature, gzip sha256 against the manifest)
// before its remaining hot rows are deleted; if its objects are gone and all
// hot rows are still there it is uploaded again, otherwise RunOnce stops
// with an error rather than delete anything. Hot rows are only ever deleted
// for a range whose objects were confirmed, so every seq is always in hot ∪
// archive, and after a successful run in exactly one of them.
//
// Only one archiver runs at a time per database: on PostgreSQL RunOnce
// holds a session advisory lock for the whole run, on SQLite (one process,
// single writer) a lock per database handle; a second concurrent RunOnce
// returns ErrBusy without doing anything. The unique start_seq of
// audit_archives backs this up.
//
// # Verification
//
// Source reads the archive as an audit.Source (manifests in key order, then
// their objects) and VerifyArchiveThenHot walks archive and hot rows as one
// chain with audit.Verify. A manifest whose signature does not verify, or
// whose object's sha256 (gzip or JSONL) differs from the manifest, is
// reported as a checkpoint-signature-mismatch break at the manifest's
// endSeq (a manifest is a signed statement about the chain, like a
// checkpoint); the events of an altered object still go through the chain
// walk, which reports the altered event as event-hash-mismatch or
// prev-hash-mismatch first. A missing batch shows as sequence-gap.
package archive

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditarchive"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/viewer"
)

// Defaults of Options.
const (
	DefaultRetention   = 90 * 24 * time.Hour
	DefaultBatchSize   = 1000
	DefaultDeleteChunk = 500
	DefaultPrefix      = "audit/"
)

// archiveLockID is the PostgreSQL advisory lock key that admits one
// archiver at a time per database ("dezkya").
const archiveLockID int64 = 0x64657a6b7961

// ErrBusy is returned by RunOnce when another archiver holds the lock.
var ErrBusy = errors.New("archive: another archiver is running")

// Options of one RunOnce; zero values take the defaults.
type Options struct {
	// Retention is how long events stay hot (default 90 days).
	Retention time.Duration
	// BatchSize is the most events per batch.
	BatchSize int
	// MaxBatches bounds the new batches of one run (0: no bound).
	MaxBatches int
	// DeleteChunk is the most hot rows deleted per transaction.
	DeleteChunk int
	// Now is the current time (zero: time.Now()).
	Now time.Time
}

// Batch describes one batch RunOnce completed.
type Batch struct {
	StartSeq, EndSeq int64
	Events           int
	JSONLKey         string
	ManifestKey      string
	Bytes            int64
	// Resumed is true for a batch an earlier run had started.
	Resumed bool
}

// Result is the outcome of RunOnce.
type Result struct {
	Batches []Batch
	// Events is the number of events moved out of hot by this run.
	Events int
}

// Archiver moves old chained events to a Store. See the package
// documentation for the contract.
type Archiver struct {
	db     *db.DB
	store  Store
	key    *audit.SigningKey
	prefix string
	log    *slog.Logger
	// step, when set, is called at named points of a batch and may fail
	// it (tests inject crashes with it).
	step func(name string, startSeq int64) error
}

// New returns an Archiver writing objects under prefix ("" means
// DefaultPrefix) of store, signing manifests with key.
func New(d *db.DB, store Store, key *audit.SigningKey, prefix string, logger *slog.Logger) (*Archiver, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !validKey(prefix + "x") {
		return nil, fmt.Errorf("archive: prefix %q is not a safe object key prefix", prefix)
	}
	if key == nil {
		return nil, errors.New("archive: a signing key is required")
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Archiver{db: d, store: store, key: key, prefix: prefix, log: logger}, nil
}

// Keys returns the object keys of the batch startSeq..endSeq under prefix.
func Keys(prefix string, startSeq, endSeq int64) (jsonlKey, manifestKey string) {
	base := fmt.Sprintf("%s%020d-%020d", prefix, startSeq, endSeq)
	return base + ".jsonl.gz", base + ".manifest.json"
}

// sqliteLocks holds one lock per SQLite database handle.
var sqliteLocks sync.Map // *sql.DB → *sync.Mutex

// lock takes the archiver lock of a's database, or returns ErrBusy.
func (a *Archiver) lock(ctx context.Context) (unlock func(), err error) {
	if !a.db.IsPostgres() {
		m, _ := sqliteLocks.LoadOrStore(a.db.SQL, &sync.Mutex{})
		mu := m.(*sync.Mutex)
		if !mu.TryLock() {
			return nil, ErrBusy
		}
		return mu.Unlock, nil
	}
	conn, err := a.db.SQL.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("archive: lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, archiveLockID).Scan(&ok); err != nil {
		conn.Close()
		return nil, fmt.Errorf("archive: lock: %w", err)
	}
	if !ok {
		conn.Close()
		return nil, ErrBusy
	}
	return func() {
		// A fresh context: the run's may be done, and the lock must go.
		if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, archiveLockID); err != nil {
			a.log.Warn("audit archive: unlock", "err", err)
			// Dropping the session releases the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}

// RunOnce resumes unfinished batches, then archives the events older than
// the retention. It returns the batches it completed, and the first error;
// after an error a later RunOnce completes what this one left.
func (a *Archiver) RunOnce(ctx context.Context, opts Options) (Result, error) {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.DeleteChunk <= 0 {
		opts.DeleteChunk = DefaultDeleteChunk
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	unlock, err := a.lock(ctx)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	sys := viewer.SystemContext(ctx)
	var res Result
	pending, err := a.db.Client.AuditArchive.Query().
		Where(auditarchive.StatusNEQ(auditarchive.StatusArchived)).
		Order(ent.Asc(auditarchive.FieldStartSeq)).All(sys)
	if err != nil {
		return res, fmt.Errorf("archive: read unfinished batches: %w", err)
	}
	for _, row := range pending {
		a.log.InfoContext(ctx, "audit archive: resuming batch", "start_seq", row.StartSeq, "end_seq", row.EndSeq, "status", row.Status)
		b, deleted, err := a.resume(ctx, row, opts)
		res.Events += deleted
		if err != nil {
			return res, err
		}
		res.Batches = append(res.Batches, b)
	}
	cutoff := opts.Now.Add(-opts.Retention)
	for n := 0; opts.MaxBatches <= 0 || n < opts.MaxBatches; n++ {
		entries, err := a.nextBatch(ctx, cutoff, opts.BatchSize)
		if err != nil {
			return res, err
		}
		if len(entries) == 0 {
			break
		}
		first, last := entries[0].Seq, entries[len(entries)-1].Seq
		jk, mk := Keys(a.prefix, first, last)
		row, err := a.db.Client.AuditArchive.Create().
			SetStartSeq(first).SetEndSeq(last).SetEventCount(len(entries)).
			SetJsonlKey(jk).SetManifestKey(mk).SetArchivedAt(opts.Now.UTC().Truncate(time.Microsecond)).
			SetStatus(auditarchive.StatusUploading).Save(sys)
		if err != nil {
			return res, fmt.Errorf("archive: record batch %d-%d: %w", first, last, err)
		}
		b, deleted, err := a.upload(ctx, row, entries, opts)
		res.Events += deleted
		if err != nil {
			return res, err
		}
		res.Batches = append(res.Batches, b)
		if len(entries) < opts.BatchSize {
			break
		}
	}
	return res, nil
}

// nextBatch returns the next events to archive: consecutive from the first
// hot event after the last recorded batch, older than cutoff, below the
// chain head, at most size.
func (a *Archiver) nextBatch(ctx context.Context, cutoff time.Time, size int) ([]audit.Entry, error) {
	head, _, err := audit.Head(ctx, a.db)
	if err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	after := int64(0)
	last, err := a.db.Client.AuditArchive.Query().Order(ent.Desc(auditarchive.FieldEndSeq)).Limit(1).All(sys)
	if err != nil {
		return nil, fmt.Errorf("archive: read last batch: %w", err)
	}
	if len(last) == 1 {
		after = last[0].EndSeq
	}
	entries, err := audit.ChainedEvents(ctx, a.db, after, size)
	if err != nil {
		return nil, err
	}
	if len(entries) > 0 && entries[0].Seq != after+1 {
		return nil, fmt.Errorf("archive: the first hot event after seq %d is seq %d: the chain has a gap, refusing to archive", after, entries[0].Seq)
	}
	n := 0
	for i, e := range entries {
		if e.Seq >= head || !e.At.Before(cutoff) || e.Seq != after+int64(i)+1 {
			break
		}
		n++
	}
	return entries[:n], nil
}

// resume completes a batch an earlier run left unfinished. It returns the
// number of hot rows it deleted.
func (a *Archiver) resume(ctx context.Context, row *ent.AuditArchive, opts Options) (Batch, int, error) {
	entries, err := a.hotRange(ctx, row.StartSeq, row.EndSeq)
	if err != nil {
		return Batch{}, 0, err
	}
	complete := len(entries) == row.EventCount
	if row.Status == auditarchive.StatusUploaded {
		verr := a.checkObjects(ctx, row)
		if verr == nil {
			b, deleted, err := a.finish(ctx, row, opts)
			b.Resumed = true
			return b, deleted, err
		}
		if !complete {
			return Batch{}, 0, fmt.Errorf("archive: batch %d-%d: objects do not check out and hot rows are partly deleted; not touching it: %w", row.StartSeq, row.EndSeq, verr)
		}
		a.log.WarnContext(ctx, "audit archive: uploaded batch failed its check, uploading again", "start_seq", row.StartSeq, "err", verr)
	}
	if !complete {
		return Batch{}, 0, fmt.Errorf("archive: batch %d-%d: %d of %d hot rows present before upload; not touching it", row.StartSeq, row.EndSeq, len(entries), row.EventCount)
	}
	b, deleted, err := a.upload(ctx, row, entries, opts)
	b.Resumed = true
	return b, deleted, err
}

// hotRange returns the hot events startSeq..endSeq.
func (a *Archiver) hotRange(ctx context.Context, startSeq, endSeq int64) ([]audit.Entry, error) {
	all, err := audit.ChainedEvents(ctx, a.db, startSeq-1, int(endSeq-startSeq+1))
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, e := range all {
		if e.Seq <= endSeq {
			out = append(out, e)
		}
	}
	return out, nil
}

// encode returns the JSONL of entries, its gzip and the signed manifest.
func (a *Archiver) encode(entries []audit.Entry, jsonlKey string, now time.Time) (gz, manifest []byte, m Manifest, err error) {
	var jsonl bytes.Buffer
	for _, e := range entries {
		line, err := audit.MarshalLine(e)
		if err != nil {
			return nil, nil, Manifest{}, fmt.Errorf("archive: encode seq %d: %w", e.Seq, err)
		}
		jsonl.Write(line)
		jsonl.WriteByte('\n')
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, nil, Manifest{}, fmt.Errorf("archive: gzip: %w", err)
	}
	if _, err := zw.Write(jsonl.Bytes()); err != nil {
		return nil, nil, Manifest{}, fmt.Errorf("archive: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, nil, Manifest{}, fmt.Errorf("archive: gzip: %w", err)
	}
	first, last := entries[0], entries[len(entries)-1]
	m = Manifest{Version: ManifestVersion, StartSeq: first.Seq, EndSeq: last.Seq, Count: int64(len(entries)),
		JSONLKey: jsonlKey, JSONLSha256: sha(jsonl.Bytes()), GzipSha256: sha(buf.Bytes()), GzipBytes: int64(buf.Len()),
		FirstPrevHash: first.PrevHash, FirstHash: first.Hash, LastHash: last.Hash, CreatedAt: now}
	SignManifest(&m, a.key)
	manifest, err = MarshalManifest(m)
	if err != nil {
		return nil, nil, Manifest{}, err
	}
	return buf.Bytes(), manifest, m, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// upload writes and confirms the objects of row from its hot entries, then
// finishes the batch.
func (a *Archiver) upload(ctx context.Context, row *ent.AuditArchive, entries []audit.Entry, opts Options) (Batch, int, error) {
	rng := fmt.Sprintf("%d-%d", row.StartSeq, row.EndSeq)
	for i, e := range entries {
		if e.Seq != row.StartSeq+int64(i) {
			return Batch{}, 0, fmt.Errorf("archive: batch %s: seq %d out of order", rng, e.Seq)
		}
	}
	gz, manifest, m, err := a.encode(entries, row.JsonlKey, opts.Now)
	if err != nil {
		return Batch{}, 0, err
	}
	if err := a.at("put", row.StartSeq); err != nil {
		return Batch{}, 0, err
	}
	gzInfo, err := a.store.Put(ctx, row.JsonlKey, gz, "application/gzip")
	if err != nil {
		return Batch{}, 0, fmt.Errorf("archive: batch %s: %w", rng, err)
	}
	mInfo, err := a.store.Put(ctx, row.ManifestKey, manifest, "application/json")
	if err != nil {
		return Batch{}, 0, fmt.Errorf("archive: batch %s: %w", rng, err)
	}
	if err := confirm(ctx, a.store, gzInfo, int64(len(gz))); err != nil {
		return Batch{}, 0, fmt.Errorf("archive: batch %s: %w", rng, err)
	}
	if err := confirm(ctx, a.store, mInfo, int64(len(manifest))); err != nil {
		return Batch{}, 0, fmt.Errorf("archive: batch %s: %w", rng, err)
	}
	row, err = row.Update().SetStatus(auditarchive.StatusUploaded).
		SetJsonlSha256(m.JSONLSha256).SetManifestSha256(sha(manifest)).SetBytes(m.GzipBytes).
		SetArchivedAt(m.CreatedAt).Save(viewer.SystemContext(ctx))
	if err != nil {
		return Batch{}, 0, fmt.Errorf("archive: batch %s: mark uploaded: %w", rng, err)
	}
	if err := a.at("uploaded", row.StartSeq); err != nil {
		return Batch{}, 0, err
	}
	return a.finish(ctx, row, opts)
}

// confirm checks by HEAD that the object put as want is there with the
// right size and, when both sides report one, the same ETag.
func confirm(ctx context.Context, s Store, want ObjectInfo, size int64) error {
	got, err := s.Head(ctx, want.Key)
	if err != nil {
		return fmt.Errorf("confirm %s: %w", want.Key, err)
	}
	if got.Size != size {
		return fmt.Errorf("confirm %s: size %d, want %d", want.Key, got.Size, size)
	}
	if want.ETag != "" && got.ETag != "" && !strings.EqualFold(want.ETag, got.ETag) {
		return fmt.Errorf("confirm %s: etag %s, want %s", want.Key, got.ETag, want.ETag)
	}
	return nil
}

// checkObjects re-reads the objects of an uploaded batch: the manifest's
// sha256 must be the recorded one, its signature valid and its range the
// row's, and the gzip object's size and sha256 those of the manifest.
func (a *Archiver) checkObjects(ctx context.Context, row *ent.AuditArchive) error {
	mb, err := a.store.Get(ctx, row.ManifestKey)
	if err != nil {
		return err
	}
	if got := sha(mb); got != row.ManifestSha256 {
		return fmt.Errorf("manifest %s: sha256 %s, recorded %s", row.ManifestKey, got, row.ManifestSha256)
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return err
	}
	if !m.VerifySignature([]ed25519.PublicKey{a.key.Public}) {
		return fmt.Errorf("manifest %s: signature does not verify", row.ManifestKey)
	}
	if m.StartSeq != row.StartSeq || m.EndSeq != row.EndSeq || m.JSONLKey != row.JsonlKey {
		return fmt.Errorf("manifest %s: describes %d-%d in %s", row.ManifestKey, m.StartSeq, m.EndSeq, m.JSONLKey)
	}
	gz, err := a.store.Get(ctx, row.JsonlKey)
	if err != nil {
		return err
	}
	if int64(len(gz)) != m.GzipBytes || sha(gz) != m.GzipSha256 {
		return fmt.Errorf("object %s: size or sha256 differs from its manifest", row.JsonlKey)
	}
	return nil
}

// finish deletes the hot rows of an uploaded batch in chunks and marks it
// archived. It returns the number of rows it deleted.
func (a *Archiver) finish(ctx context.Context, row *ent.AuditArchive, opts Options) (Batch, int, error) {
	sys := viewer.SystemContext(ctx)
	deleted := 0
	for lo := row.StartSeq; lo <= row.EndSeq; lo += int64(opts.DeleteChunk) {
		hi := min(lo+int64(opts.DeleteChunk)-1, row.EndSeq)
		n, err := a.db.Client.AuditEvent.Delete().Where(auditevent.SeqGTE(lo), auditevent.SeqLTE(hi)).Exec(sys)
		if err != nil {
			return Batch{}, deleted, fmt.Errorf("archive: batch %d-%d: delete hot seq %d-%d: %w", row.StartSeq, row.EndSeq, lo, hi, err)
		}
		deleted += n
		if err := a.at("deleted-chunk", row.StartSeq); err != nil {
			return Batch{}, deleted, err
		}
	}
	if _, err := row.Update().SetStatus(auditarchive.StatusArchived).Save(sys); err != nil {
		return Batch{}, deleted, fmt.Errorf("archive: batch %d-%d: mark archived: %w", row.StartSeq, row.EndSeq, err)
	}
	a.log.InfoContext(ctx, "audit archive: batch archived", "start_seq", row.StartSeq, "end_seq", row.EndSeq,
		"events", row.EventCount, "bytes", row.Bytes, "jsonl_key", row.JsonlKey)
	return Batch{StartSeq: row.StartSeq, EndSeq: row.EndSeq, Events: row.EventCount, JSONLKey: row.JsonlKey,
		ManifestKey: row.ManifestKey, Bytes: row.Bytes}, deleted, nil
}

func (a *Archiver) at(name string, startSeq int64) error {
	if a.step == nil {
		return nil
	}
	if err := a.step(name, startSeq); err != nil {
		return fmt.Errorf("archive: batch from seq %d at %s: %w", startSeq, name, err)
	}
	return nil
}
