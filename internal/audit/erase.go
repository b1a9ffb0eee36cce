package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/viewer"
)

// Erasure is the outcome of EraseSubject: counts only, never the subject.
type Erasure struct {
	// Events and Fields count the hot events changed and the personal
	// fields erased in them.
	Events int `json:"events"`
	Fields int `json:"fields"`
	ArchiveErasure
	// LegacyEvents counts the hot events chained before the sealed format
	// (SealedFromSeq) whose actor e-mail is the subject: their hashes
	// cover the values, so they are not erased.
	LegacyEvents int `json:"legacyEvents"`
}

// ArchiveErasure counts what erasure changed in the archive.
type ArchiveErasure struct {
	// ArchivedBatches counts the archive batches rewritten.
	ArchivedBatches int `json:"archivedBatches"`
	// ArchivedEvents and ArchivedFields count the archived events changed
	// and the personal fields erased in them.
	ArchivedEvents int `json:"archivedEvents"`
	ArchivedFields int `json:"archivedFields"`
}

// ArchiveEraserFunc erases subject (a SubjectDigest) from the archive and
// then runs hot with the counts, while no archiver runs (so no hot row
// moves to the archive between the two). Without an archive it just runs
// hot.
type ArchiveEraserFunc func(ctx context.Context, subject string, hot func(ctx context.Context, archived ArchiveErasure) error) error

// SetArchiveEraser makes EraseSubject erase from the archive too, for
// deployments that archive old events.
func (s *Service) SetArchiveEraser(f ArchiveEraserFunc) { s.eraseArchive = f }

// EraseSubject erases every personal field of the subject email from the
// trail (operators only): in the hot rows and, with SetArchiveEraser, in
// the archive. Everything committed before the call is chained first, so
// it is covered. The erasure is recorded as the event "audit.subject_erased"
// whose metadata holds the counts only, never the address. A second
// erasure of the same subject changes nothing (and records zero counts).
// Verification, proofs, checkpoints and cosignatures are unaffected: see
// "Personal data".
func (s *Service) EraseSubject(ctx context.Context, email string) (*Erasure, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	email = strings.TrimSpace(email)
	if !IsEmailAddress(email) {
		return nil, apperr.Invalid("email", "must be an e-mail address")
	}
	if ent.TxFromContext(ctx) != nil {
		return nil, fmt.Errorf("audit: EraseSubject must not run inside a transaction")
	}
	if _, err := s.chainer.ChainPending(ctx); err != nil {
		return nil, err
	}
	subject := SubjectDigest(email)
	var out Erasure
	hot := func(ctx context.Context, archived ArchiveErasure) error {
		out = Erasure{ArchiveErasure: archived}
		return db.WithTx(ctx, s.db.Client, func(ctx context.Context) error {
			tx, ok := db.SQLTx(ctx)
			if !ok {
				return fmt.Errorf("audit: erase: no SQL transaction")
			}
			var err error
			if out.Events, out.Fields, err = eraseHot(ctx, tx, s.db.Dialect, subject); err != nil {
				return err
			}
			if out.LegacyEvents, err = countLegacy(ctx, tx, s.db.Dialect, email); err != nil {
				return err
			}
			return Record(ctx, Event{Action: "audit.subject_erased", ResourceType: "audit", Metadata: map[string]any{
				"events": out.Events, "fields": out.Fields, "legacyEvents": out.LegacyEvents,
				"archivedBatches": out.ArchivedBatches, "archivedEvents": out.ArchivedEvents, "archivedFields": out.ArchivedFields,
			}})
		})
	}
	var err error
	if s.eraseArchive != nil {
		err = s.eraseArchive(ctx, subject, hot)
	} else {
		err = hot(ctx, ArchiveErasure{})
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// eraseLockID is the PostgreSQL advisory lock key that admits one hot
// erasure at a time per database ("dezkye"); SQLite has a single writer.
const eraseLockID int64 = 0x64657a6b7965

// eraseHot erases subject from the sealed hot rows, in tx. The candidate
// rows are found by the subject digest in their personal column (a scan of
// the hot table: erasure is rare). Erasures are serialized (and each row is
// updated only if its personal column is still the one read), so two
// erasures of subjects sharing an event never undo each other.
func eraseHot(ctx context.Context, tx *sql.Tx, dia string, subject string) (events, fields int, err error) {
	if dia == dialect.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, eraseLockID); err != nil {
			return 0, 0, fmt.Errorf("audit: erase: lock: %w", err)
		}
	}
	sel := entsql.Dialect(dia).Select(entryColumns...).From(entsql.Table("audit_events"))
	q, args := sel.Where(entsql.And(entsql.NotNull("seq"), entsql.Contains("personal", `"subject":"`+subject+`"`))).
		OrderBy("seq").Query()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, 0, fmt.Errorf("audit: erase: read events: %w", err)
	}
	type change struct {
		id  int64
		e   Entry
		old string // the personal column as read
	}
	var changes []change
	for rows.Next() {
		id, e, err := scanEntry(rows)
		if err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("audit: erase: %w", err)
		}
		old := string(MarshalPersonal(e.Personal))
		n, err := EraseSubject(&e, subject)
		if err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("audit: erase seq %d: %w", e.Seq, err)
		}
		if n > 0 {
			changes = append(changes, change{id, e, old})
			fields += n
		}
	}
	if err := rows.Close(); err != nil {
		return 0, 0, fmt.Errorf("audit: erase: read events: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("audit: erase: read events: %w", err)
	}
	for _, c := range changes {
		up := entsql.Dialect(dia).Update("audit_events").
			Set("actor_email", c.e.ActorEmail).Set("actor_ip", c.e.ActorIP).Set("actor_id", c.e.ActorID).
			Set("personal", string(MarshalPersonal(c.e.Personal)))
		if c.e.Metadata != nil {
			up.Set("metadata", string(c.e.Metadata))
		}
		stmt, args := up.Where(entsql.And(entsql.EQ("id", c.id), entsql.EQ("hash", c.e.Hash), entsql.EQ("personal", c.old))).Query()
		res, err := tx.ExecContext(ctx, stmt, args...)
		if err != nil {
			return 0, 0, fmt.Errorf("audit: erase seq %d: %w", c.e.Seq, err)
		}
		if k, err := res.RowsAffected(); err != nil || k != 1 {
			return 0, 0, fmt.Errorf("audit: erase seq %d: the row changed meanwhile", c.e.Seq)
		}
	}
	return len(changes), fields, nil
}

// countLegacy counts the chained legacy-format hot events whose actor
// e-mail is email (case-insensitively).
func countLegacy(ctx context.Context, tx *sql.Tx, dialect, email string) (int, error) {
	q, args := entsql.Dialect(dialect).Select("COUNT(*)").From(entsql.Table("audit_events")).
		Where(entsql.And(entsql.NotNull("seq"), entsql.IsNull("personal"),
			entsql.P(func(b *entsql.Builder) {
				b.WriteString("LOWER(actor_email) = ").Arg(strings.ToLower(email))
			}))).Query()
	var n int
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("audit: erase: count legacy events: %w", err)
	}
	return n, nil
}
