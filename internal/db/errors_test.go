package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"path/filepath"
	"testing"

	"entgo.io/ent/dialect"
	_ "github.com/lib/pq"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestErrorClassification provokes real driver errors on both databases
// and checks that they are classified by their codes.
func TestErrorClassification(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := viewer.SystemContext(context.Background())
		if _, err := d.Client.Tenant.Create().SetSlug("acme").SetName("Acme").Save(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := d.Client.Tenant.Create().SetSlug("acme").SetName("Acme again").Save(ctx)
		if got, want := db.IsUniqueViolation(err), true; got != want {
			t.Fatalf("duplicate slug: IsUniqueViolation(%v) = %v, want %v", err, got, want)
		}
		if db.IsForeignKeyViolation(err) || db.IsUnavailable(err) {
			t.Fatalf("duplicate slug %v classified as foreign-key violation or unavailable", err)
		}

		for _, stmt := range []string{
			`CREATE TABLE errtest_parent (id integer PRIMARY KEY)`,
			`CREATE TABLE errtest_child (id integer PRIMARY KEY, parent_id integer NOT NULL REFERENCES errtest_parent (id))`,
		} {
			if _, err := d.SQL.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		_, err = d.SQL.ExecContext(ctx, `INSERT INTO errtest_child (id, parent_id) VALUES (1, 42)`)
		if got, want := db.IsForeignKeyViolation(err), true; got != want {
			t.Fatalf("dangling reference: IsForeignKeyViolation(%v) = %v, want %v", err, got, want)
		}
		if db.IsUniqueViolation(err) || db.IsUnavailable(err) {
			t.Fatalf("dangling reference %v classified as unique violation or unavailable", err)
		}
		if db.IsUnavailable(nil) || db.IsUniqueViolation(nil) || db.IsForeignKeyViolation(nil) {
			t.Fatal("nil classified as a failure")
		}
	})
}

// TestUnavailablePostgres: a refused connection and a terminated backend
// (57P01 admin_shutdown) are connection-level failures.
func TestUnavailablePostgres(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more
	refused, err := sql.Open("postgres", fmt.Sprintf("postgres://postgres@%s/x?sslmode=disable&connect_timeout=5", addr))
	if err != nil {
		t.Fatal(err)
	}
	defer refused.Close()
	err = refused.PingContext(context.Background())
	if got, want := db.IsUnavailable(err), true; got != want {
		t.Fatalf("refused connection: IsUnavailable(%v) = %v, want %v", err, got, want)
	}

	d := testdb.Open(t, dialect.Postgres)
	ctx := context.Background()
	conn, err := d.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid int
	if err := conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SQL.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, `SELECT 1`)
	if got, want := db.IsUnavailable(err), true; got != want {
		t.Fatalf("terminated backend: IsUnavailable(%v) = %v, want %v", err, got, want)
	}
}

// TestUnavailableSQLiteBusy: a writer that cannot get the lock within its
// busy timeout is unavailable, not broken.
func TestUnavailableSQLiteBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	open := func() *sql.DB {
		s, err := sql.Open("sqlite3", "file:"+path+"?_txlock=immediate&_pragma=busy_timeout(50)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	ctx := context.Background()
	if _, err := a.ExecContext(ctx, `CREATE TABLE x (id integer)`); err != nil {
		t.Fatal(err)
	}
	tx, err := a.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO x VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	_, err = b.ExecContext(ctx, `INSERT INTO x VALUES (2)`)
	if got, want := db.IsUnavailable(err), true; got != want {
		t.Fatalf("busy database: IsUnavailable(%v) = %v, want %v", err, got, want)
	}
}
