package archive

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditarchive"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/viewer"
)

// Erasure in the archive
//
// Archived events keep their personal fields sealed exactly as in the hot
// rows (see package audit, "Personal data"): each archive line carries its
// seals. Erasing a subject rewrites every batch holding one of its fields:
// the fields become audit.ErasedValue and lose salt and subject, their
// commitments stay, so every event keeps its hash and the chain, the tree,
// proofs and checkpoints still verify. For each batch it changes, Erase
// puts, in this order:
//
//  1. a signed ErasureRecord at <prefix>erasures/<startSeq>-<endSeq>.<new
//     jsonl sha256>.json naming the batch, the seqs changed, the number of
//     fields erased and the JSONL sha256 before and after (never the
//     subject);
//  2. the batch's manifest, re-signed over the new object's digests (its
//     createdAt unchanged);
//  3. the new JSONL object;
//
// and then records the new digests in the batch's audit_archives row. An
// erasure interrupted between these steps is completed by running it
// again: an object whose sha256 is the one the row recorded, or the one
// the (validly signed) manifest names, is trusted and rewritten, and a row
// behind its validly signed manifest and object is brought up to date.
// Nothing else is ever re-signed.

// ErasureRecordVersion is the version of the erasure record format.
const ErasureRecordVersion = 1

// ErasureRecord is a signed statement that personal fields of the listed
// events of one archive batch were erased and the batch's object replaced.
type ErasureRecord struct {
	Version  int     `json:"version"`
	StartSeq int64   `json:"startSeq"`
	EndSeq   int64   `json:"endSeq"`
	Seqs     []int64 `json:"seqs"`
	Fields   int     `json:"fields"`
	// PreviousJSONLSha256 and JSONLSha256 are the sha256 of the batch's
	// uncompressed JSONL before and after the erasure.
	PreviousJSONLSha256 string    `json:"previousJsonlSha256"`
	JSONLSha256         string    `json:"jsonlSha256"`
	At                  time.Time `json:"-"`
	KeyID               string    `json:"keyId"`
	Algorithm           string    `json:"algorithm"`
	// Signature is the standard base64 of the ed25519 signature of
	// Message().
	Signature string `json:"signature"`
}

// Message returns the bytes an erasure record's signature covers: the
// ASCII text
//
//	dezky-audit-archive-erasure-v1\n
//	<startSeq>\n<endSeq>\n<seq>,<seq>,...\n<fields>\n
//	<previousJsonlSha256>\n<jsonlSha256>\n<at>\n<keyId>\n<algorithm>\n
//
// with integers in decimal and at in audit.TimeLayout.
func (r ErasureRecord) Message() []byte {
	b := []byte("dezky-audit-archive-erasure-v1\n")
	b = strconv.AppendInt(b, r.StartSeq, 10)
	b = append(b, '\n')
	b = strconv.AppendInt(b, r.EndSeq, 10)
	b = append(b, '\n')
	for i, s := range r.Seqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, s, 10)
	}
	b = append(b, '\n')
	b = strconv.AppendInt(b, int64(r.Fields), 10)
	b = append(b, '\n')
	for _, s := range []string{r.PreviousJSONLSha256, r.JSONLSha256, r.At.UTC().Format(audit.TimeLayout), r.KeyID, r.Algorithm} {
		b = append(b, s...)
		b = append(b, '\n')
	}
	return b
}

// VerifySignature reports whether r is signed by one of keys.
func (r ErasureRecord) VerifySignature(keys []ed25519.PublicKey) bool {
	return audit.VerifyMessage(keys, r.KeyID, r.Algorithm, r.Signature, r.Message())
}

type erasureJSON struct {
	Version             *int     `json:"version"`
	StartSeq            *int64   `json:"startSeq"`
	EndSeq              *int64   `json:"endSeq"`
	Seqs                *[]int64 `json:"seqs"`
	Fields              *int     `json:"fields"`
	PreviousJSONLSha256 *string  `json:"previousJsonlSha256"`
	JSONLSha256         *string  `json:"jsonlSha256"`
	At                  *string  `json:"at"`
	KeyID               *string  `json:"keyId"`
	Algorithm           *string  `json:"algorithm"`
	Signature           *string  `json:"signature"`
}

// MarshalErasureRecord returns the JSON object of r followed by a newline.
func MarshalErasureRecord(r ErasureRecord) ([]byte, error) {
	at := r.At.UTC().Format(audit.TimeLayout)
	b, err := json.Marshal(erasureJSON{Version: &r.Version, StartSeq: &r.StartSeq, EndSeq: &r.EndSeq, Seqs: &r.Seqs,
		Fields: &r.Fields, PreviousJSONLSha256: &r.PreviousJSONLSha256, JSONLSha256: &r.JSONLSha256, At: &at,
		KeyID: &r.KeyID, Algorithm: &r.Algorithm, Signature: &r.Signature})
	if err != nil {
		return nil, fmt.Errorf("archive: encode erasure record: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseErasureRecord parses an erasure record object. Every member is
// required and unknown members are rejected; it checks the forms (version
// 1, 1 ≤ startSeq ≤ endSeq, at least one seq, seqs strictly increasing
// within the range, fields ≥ seqs, digests 64 lowercase hex digits, at in
// audit.TimeLayout, no line break in key id, algorithm or signature) but
// not the signature: that is VerifySignature's job.
func ParseErasureRecord(data []byte) (ErasureRecord, error) {
	var j erasureJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return ErasureRecord{}, fmt.Errorf("archive: parse erasure record: %w", err)
	}
	if dec.More() {
		return ErasureRecord{}, errors.New("archive: parse erasure record: trailing data")
	}
	if j.Version == nil || j.StartSeq == nil || j.EndSeq == nil || j.Seqs == nil || j.Fields == nil ||
		j.PreviousJSONLSha256 == nil || j.JSONLSha256 == nil || j.At == nil || j.KeyID == nil ||
		j.Algorithm == nil || j.Signature == nil {
		return ErasureRecord{}, errors.New("archive: parse erasure record: a required member is missing")
	}
	r := ErasureRecord{Version: *j.Version, StartSeq: *j.StartSeq, EndSeq: *j.EndSeq, Seqs: *j.Seqs, Fields: *j.Fields,
		PreviousJSONLSha256: *j.PreviousJSONLSha256, JSONLSha256: *j.JSONLSha256,
		KeyID: *j.KeyID, Algorithm: *j.Algorithm, Signature: *j.Signature}
	if r.Version != ErasureRecordVersion {
		return ErasureRecord{}, fmt.Errorf("archive: parse erasure record: version %d is not %d", r.Version, ErasureRecordVersion)
	}
	if r.StartSeq < 1 || r.EndSeq < r.StartSeq {
		return ErasureRecord{}, fmt.Errorf("archive: parse erasure record: seq range %d-%d is invalid", r.StartSeq, r.EndSeq)
	}
	if len(r.Seqs) == 0 || r.Fields < len(r.Seqs) {
		return ErasureRecord{}, errors.New("archive: parse erasure record: no seqs, or fewer fields than seqs")
	}
	prev := r.StartSeq - 1
	for _, s := range r.Seqs {
		if s <= prev || s > r.EndSeq {
			return ErasureRecord{}, fmt.Errorf("archive: parse erasure record: seq %d is out of order or range", s)
		}
		prev = s
	}
	if !isHex64(r.PreviousJSONLSha256) || !isHex64(r.JSONLSha256) {
		return ErasureRecord{}, errors.New("archive: parse erasure record: a digest is not 64 lowercase hex digits")
	}
	for name, s := range map[string]string{"keyId": r.KeyID, "algorithm": r.Algorithm, "signature": r.Signature} {
		if s == "" || strings.ContainsAny(s, "\n\r") {
			return ErasureRecord{}, fmt.Errorf("archive: parse erasure record: %s is empty or has a line break", name)
		}
	}
	at, err := time.Parse(audit.TimeLayout, *j.At)
	if err != nil || at.Format(audit.TimeLayout) != *j.At {
		return ErasureRecord{}, fmt.Errorf("archive: parse erasure record: at %q is not in the form %s", *j.At, audit.TimeLayout)
	}
	r.At = at
	return r, nil
}

// ErasureKey returns the object key of the erasure record of the batch
// startSeq..endSeq whose new JSONL has the sha256 jsonlSha256.
func ErasureKey(prefix string, startSeq, endSeq int64, jsonlSha256 string) string {
	return fmt.Sprintf("%serasures/%020d-%020d.%s.json", prefix, startSeq, endSeq, jsonlSha256)
}

// EraseSubject erases subject (an audit.SubjectDigest) from the archive and
// then runs hot with the counts, holding the archiver lock throughout (it
// waits for a running archiver), so no hot row is archived between the two.
// Without a store it just runs hot. Wire it as audit.Service's
// SetArchiveEraser.
func (s *Service) EraseSubject(ctx context.Context, subject string, hot func(ctx context.Context, archived audit.ArchiveErasure) error) error {
	if s.archiver == nil {
		return hot(ctx, audit.ArchiveErasure{})
	}
	var unlock func()
	for {
		var err error
		unlock, err = s.archiver.lock(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrBusy) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer unlock()
	res, err := s.archiver.erase(ctx, subject)
	if err != nil {
		return err
	}
	return hot(ctx, res)
}

// erase rewrites every uploaded or archived batch holding fields of
// subject (see "Erasure in the archive"). The caller holds the lock.
func (a *Archiver) erase(ctx context.Context, subject string) (audit.ArchiveErasure, error) {
	sys := viewer.SystemContext(ctx)
	rows, err := a.db.Client.AuditArchive.Query().
		Where(auditarchive.StatusIn(auditarchive.StatusUploaded, auditarchive.StatusArchived)).
		Order(ent.Asc(auditarchive.FieldStartSeq)).All(sys)
	if err != nil {
		return audit.ArchiveErasure{}, fmt.Errorf("archive: erase: read batches: %w", err)
	}
	var res audit.ArchiveErasure
	for _, row := range rows {
		events, fields, err := a.eraseBatch(ctx, row, subject)
		if err != nil {
			return res, fmt.Errorf("archive: erase: batch %d-%d: %w", row.StartSeq, row.EndSeq, err)
		}
		if events > 0 {
			res.ArchivedBatches++
			res.ArchivedEvents += events
			res.ArchivedFields += fields
		}
	}
	return res, nil
}

// eraseBatch erases subject from one batch and returns the events and
// fields it erased.
func (a *Archiver) eraseBatch(ctx context.Context, row *ent.AuditArchive, subject string) (events, fields int, err error) {
	keys := []ed25519.PublicKey{a.key.Public}
	mb, err := a.store.Get(ctx, row.ManifestKey)
	if err != nil {
		return 0, 0, err
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return 0, 0, err
	}
	if !m.VerifySignature(keys) || m.StartSeq != row.StartSeq || m.EndSeq != row.EndSeq || m.JSONLKey != row.JsonlKey {
		return 0, 0, fmt.Errorf("manifest %s is not this log's manifest of the batch", row.ManifestKey)
	}
	gz, err := a.store.Get(ctx, row.JsonlKey)
	if err != nil {
		return 0, 0, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return 0, 0, fmt.Errorf("object %s: %w", row.JsonlKey, err)
	}
	jsonl, err := io.ReadAll(zr)
	if err != nil {
		return 0, 0, fmt.Errorf("object %s: %w", row.JsonlKey, err)
	}
	old := sha(jsonl)
	if old != m.JSONLSha256 && old != row.JsonlSha256 {
		return 0, 0, fmt.Errorf("object %s: sha256 %s is neither the manifest's nor the recorded one", row.JsonlKey, old)
	}
	var entries []audit.Entry
	var seqs []int64
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		e, err := audit.ParseLine(sc.Bytes())
		if err != nil {
			return 0, 0, fmt.Errorf("object %s: %w", row.JsonlKey, err)
		}
		n, err := audit.EraseSubject(&e, subject)
		if err != nil {
			return 0, 0, fmt.Errorf("object %s: seq %d: %w", row.JsonlKey, e.Seq, err)
		}
		if n > 0 {
			seqs = append(seqs, e.Seq)
			fields += n
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("object %s: %w", row.JsonlKey, err)
	}
	if len(seqs) == 0 {
		// Nothing of the subject; bring a row left behind by an
		// interrupted erasure up to date with its signed manifest.
		if old == m.JSONLSha256 && sha(gz) == m.GzipSha256 && (row.JsonlSha256 != m.JSONLSha256 || row.ManifestSha256 != sha(mb)) {
			err := row.Update().SetJsonlSha256(m.JSONLSha256).SetManifestSha256(sha(mb)).SetBytes(m.GzipBytes).
				Exec(viewer.SystemContext(ctx))
			if err != nil {
				return 0, 0, fmt.Errorf("record digests: %w", err)
			}
		}
		return 0, 0, nil
	}
	newGz, newManifest, nm, err := a.encode(entries, row.JsonlKey, m.CreatedAt)
	if err != nil {
		return 0, 0, err
	}
	rec := ErasureRecord{Version: ErasureRecordVersion, StartSeq: row.StartSeq, EndSeq: row.EndSeq, Seqs: seqs, Fields: fields,
		PreviousJSONLSha256: old, JSONLSha256: nm.JSONLSha256, At: time.Now().UTC().Truncate(time.Microsecond),
		KeyID: a.key.ID, Algorithm: audit.Algorithm}
	rec.Signature = a.key.SignMessage(rec.Message())
	rb, err := MarshalErasureRecord(rec)
	if err != nil {
		return 0, 0, err
	}
	if _, err := a.store.Put(ctx, ErasureKey(a.prefix, row.StartSeq, row.EndSeq, nm.JSONLSha256), rb, "application/json"); err != nil {
		return 0, 0, err
	}
	if _, err := a.store.Put(ctx, row.ManifestKey, newManifest, "application/json"); err != nil {
		return 0, 0, err
	}
	if err := a.at("erase-manifest", row.StartSeq); err != nil {
		return 0, 0, err
	}
	if _, err := a.store.Put(ctx, row.JsonlKey, newGz, "application/gzip"); err != nil {
		return 0, 0, err
	}
	err = row.Update().SetJsonlSha256(nm.JSONLSha256).SetManifestSha256(sha(newManifest)).SetBytes(nm.GzipBytes).
		Exec(viewer.SystemContext(ctx))
	if err != nil {
		return 0, 0, fmt.Errorf("record digests: %w", err)
	}
	a.log.InfoContext(ctx, "audit archive: batch rewritten by erasure", "start_seq", row.StartSeq, "end_seq", row.EndSeq,
		"events", len(seqs), "fields", fields)
	return len(seqs), fields, nil
}
