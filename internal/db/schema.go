package db

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// SchemaError says why a PostgreSQL database's schema does not match this
// binary's migrations. Its message is one line that an operator can act
// on.
type SchemaError struct {
	// Have is the newest migration version applied to the database ("" for
	// an empty, never migrated database).
	Have string
	// Want is the newest migration version this binary carries.
	Want string
	// Pending are this binary's migrations the database lacks.
	Pending []string
	// Unknown are versions applied to the database that this binary does
	// not carry: the database was migrated by a newer release.
	Unknown []string
	// Changed are versions whose applied checksum differs from this
	// binary's file.
	Changed []string
}

func (e *SchemaError) Error() string {
	have := e.Have
	if have == "" {
		have = "none (empty database)"
	}
	switch {
	case len(e.Unknown) > 0:
		return fmt.Sprintf("database schema is at version %s, newer than this binary's %s (unknown migrations %s): run the release that migrated it, or restore a matching backup",
			have, e.Want, strings.Join(e.Unknown, ", "))
	case len(e.Changed) > 0:
		return fmt.Sprintf("database schema migrations %s differ from this binary's files: the database was migrated by a different build", strings.Join(e.Changed, ", "))
	default:
		return fmt.Sprintf("database schema is at version %s, this binary needs %s (%d migration(s) pending): run `dezky migrate` or pass --migrate",
			have, e.Want, len(e.Pending))
	}
}

// CheckSchema reports whether the database schema is the one this binary
// was built for. SQLite databases are migrated when they are opened, so
// they always are. For PostgreSQL the applied versions in
// schema_migrations must be exactly this binary's migrations: a missing
// one (or an empty database) and one this binary does not know (a newer
// release migrated the database) both return a *SchemaError. Errors
// reaching the database are returned wrapped, unchanged in kind.
func (d *DB) CheckSchema(ctx context.Context) error {
	if !d.IsPostgres() {
		return nil
	}
	ms, err := Migrations()
	if err != nil {
		return err
	}
	applied := map[string]string{}
	var exists bool
	if err := d.SQL.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	if exists {
		rows, err := d.SQL.QueryContext(ctx, `SELECT version, checksum FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("check schema: %w", err)
		}
		for rows.Next() {
			var v, c string
			if err := rows.Scan(&v, &c); err != nil {
				rows.Close()
				return fmt.Errorf("check schema: %w", err)
			}
			applied[v] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("check schema: %w", err)
		}
	}
	if e := compareSchema(ms, applied); e != nil {
		return e
	}
	return nil
}

// compareSchema compares the applied versions (version → checksum) with
// this binary's migrations ms; nil when they are exactly the same.
func compareSchema(ms []Migration, applied map[string]string) *SchemaError {
	e := &SchemaError{}
	if len(ms) > 0 {
		e.Want = ms[len(ms)-1].Version
	}
	known := map[string]bool{}
	for _, m := range ms {
		known[m.Version] = true
		sum, ok := applied[m.Version]
		switch {
		case !ok:
			e.Pending = append(e.Pending, m.Version)
		case sum != m.Checksum:
			e.Changed = append(e.Changed, m.Version)
		}
	}
	for v := range applied {
		if v > e.Have {
			e.Have = v
		}
		if !known[v] {
			e.Unknown = append(e.Unknown, v)
		}
	}
	sort.Strings(e.Unknown)
	if len(e.Pending)+len(e.Unknown)+len(e.Changed) == 0 {
		return nil
	}
	return e
}

// IsSchemaError reports whether err is (or wraps) a *SchemaError.
func IsSchemaError(err error) bool {
	var se *SchemaError
	return errors.As(err, &se)
}
