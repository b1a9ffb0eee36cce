package db_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
)

// TestCheckSchema: a PostgreSQL database is accepted only at exactly this
// binary's migrations; empty, behind, ahead and changed databases get a
// one-line *db.SchemaError saying what to do. SQLite migrates itself.
func TestCheckSchema(t *testing.T) {
	ctx := context.Background()
	ms, err := db.Migrations()
	if err != nil || len(ms) < 2 {
		t.Fatalf("migrations: %d %v", len(ms), err)
	}
	latest := ms[len(ms)-1].Version

	t.Run("sqlite", func(t *testing.T) {
		if err := testdb.Open(t, dialect.SQLite).CheckSchema(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("current", func(t *testing.T) {
		if err := testdb.Open(t, dialect.Postgres).CheckSchema(ctx); err != nil {
			t.Fatal(err)
		}
	})
	open := func(t *testing.T) *db.DB {
		d, err := db.Open(ctx, testdb.EmptyURL(t, dialect.Postgres))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	check := func(t *testing.T, d *db.DB, want ...string) *db.SchemaError {
		t.Helper()
		err := d.CheckSchema(ctx)
		var se *db.SchemaError
		if !errors.As(err, &se) {
			t.Fatalf("CheckSchema = %v, want a *db.SchemaError", err)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("message spans lines: %q", msg)
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("message %q lacks %q", msg, w)
			}
		}
		return se
	}
	t.Run("empty", func(t *testing.T) {
		se := check(t, open(t), "none (empty database)", "needs "+latest, "run `dezky migrate` or pass --migrate")
		if len(se.Pending) != len(ms) {
			t.Errorf("pending %v", se.Pending)
		}
	})
	t.Run("behind", func(t *testing.T) {
		d := open(t)
		if _, err := d.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := d.SQL.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = $1`, latest); err != nil {
			t.Fatal(err)
		}
		se := check(t, d, "at version "+ms[len(ms)-2].Version, "needs "+latest, "1 migration(s) pending", "dezky migrate")
		if se.Have != ms[len(ms)-2].Version {
			t.Errorf("have %q", se.Have)
		}
	})
	t.Run("newer", func(t *testing.T) {
		d := open(t)
		if _, err := d.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := d.SQL.ExecContext(ctx, `INSERT INTO schema_migrations (version, description, checksum) VALUES ('99991231000000', 'future', 'x')`); err != nil {
			t.Fatal(err)
		}
		check(t, d, "at version 99991231000000", "newer than this binary's "+latest)
		// Migrating it with this (older) binary is refused too, before
		// anything is applied: here the latest migration is missing as well.
		if _, err := d.SQL.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = $1`, latest); err != nil {
			t.Fatal(err)
		}
		applied, err := d.Migrate(ctx, nil)
		if !db.IsSchemaError(err) || len(applied) != 0 {
			t.Fatalf("Migrate on a newer database = %v, %v; want a *db.SchemaError and nothing applied", applied, err)
		}
		if se := check(t, d, "newer than this binary's "); len(se.Pending) != 1 || se.Pending[0] != latest {
			t.Errorf("pending after the refused Migrate: %v", se.Pending)
		}
	})
	t.Run("changed", func(t *testing.T) {
		d := open(t)
		if _, err := d.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := d.SQL.ExecContext(ctx, `UPDATE schema_migrations SET checksum = 'x' WHERE version = $1`, latest); err != nil {
			t.Fatal(err)
		}
		check(t, d, latest, "different build")
	})
}
