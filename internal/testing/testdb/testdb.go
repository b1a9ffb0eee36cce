// Package testdb gives tests a fresh, migrated database on each engine.
//
// SQLite databases are files in the test's temp dir, private to one test. PostgreSQL
// databases come from DATABASE_URL when it is set (a URL of a role that may
// CREATE DATABASE), otherwise from a throwaway cluster started once per test
// binary (see package pgcluster) and stopped by Main. Each PostgreSQL test
// gets its own database cloned from a template to which the versioned
// migration files were applied, so the production migration path is the
// one under test. When neither is available the PostgreSQL half is skipped,
// except under CI=true, where that is a failure.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/pgcluster"
)

// Dialects lists the engines every data-layer test runs on.
var Dialects = []string{dialect.SQLite, dialect.Postgres}

var (
	pgOnce    sync.Once
	pgErr     error
	pgAdmin   string // admin URL
	pgCluster *pgcluster.Cluster
	template  string
	counter   atomic.Int64
)

// Main runs the tests and stops the throwaway cluster, if one was started.
// Call it from TestMain: func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	if pgCluster != nil {
		if err := pgCluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	return code
}

// ForEach runs f as a subtest on each engine with a fresh database.
func ForEach(t *testing.T, f func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, name := range Dialects {
		t.Run(name, func(t *testing.T) {
			f(t, Open(t, name))
		})
	}
}

// Open returns a fresh migrated database of the given dialect, closed (and
// dropped) when the test ends.
func Open(tb testing.TB, name string) *db.DB {
	tb.Helper()
	url := URL(tb, name)
	ctx := context.Background()
	d, err := db.Open(ctx, url)
	if err != nil {
		tb.Fatalf("open %s test database: %v", name, err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// URL returns the URL of a fresh migrated database of the given dialect.
// PostgreSQL databases are dropped when the test ends.
func URL(tb testing.TB, name string) string {
	tb.Helper()
	n := counter.Add(1)
	switch name {
	case dialect.SQLite:
		// A file in a temp dir, exactly like the embedded default (WAL,
		// busy timeout, immediate transactions): shared-cache memory
		// databases lock differently.
		return "sqlite://" + filepath.Join(tb.TempDir(), fmt.Sprintf("t%d.db", n))
	case dialect.Postgres:
		admin := postgres(tb)
		dbname := fmt.Sprintf("dz_%d_%d", os.Getpid(), n)
		exec(tb, admin, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, dbname, template))
		tb.Cleanup(func() {
			execNoFail(admin, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, dbname))
		})
		return withDB(admin, dbname)
	default:
		tb.Fatalf("unknown dialect %q", name)
		return ""
	}
}

// EmptyURL returns the URL of a fresh PostgreSQL database with no schema at
// all (for testing migrations themselves); it is dropped when the test ends.
func EmptyURL(tb testing.TB, name string) string {
	tb.Helper()
	if name != dialect.Postgres {
		tb.Fatalf("EmptyURL: only %s databases start empty", dialect.Postgres)
	}
	admin := postgres(tb)
	dbname := fmt.Sprintf("dz_empty_%d_%d", os.Getpid(), counter.Add(1))
	exec(tb, admin, `CREATE DATABASE `+dbname)
	tb.Cleanup(func() { execNoFail(admin, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, dbname)) })
	return withDB(admin, dbname)
}

// postgres returns the admin URL, starting the cluster and the migrated
// template on first use.
func postgres(tb testing.TB) string {
	tb.Helper()
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		pgAdmin = os.Getenv("DATABASE_URL")
		if pgAdmin == "" {
			c, err := pgcluster.Start(ctx)
			if err != nil {
				pgErr = err
				return
			}
			pgCluster = c
			pgAdmin = c.URL("postgres")
		}
		template = fmt.Sprintf("dz_tpl_%d", os.Getpid())
		if err := execErr(pgAdmin, `CREATE DATABASE `+template); err != nil {
			pgErr = err
			return
		}
		d, err := db.Open(ctx, withDB(pgAdmin, template))
		if err != nil {
			pgErr = err
			return
		}
		defer d.Close()
		if _, err := d.Migrate(ctx, nil); err != nil {
			pgErr = fmt.Errorf("apply migrations to template: %w", err)
		}
	})
	if pgErr != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL is required in CI: %v", pgErr)
		}
		tb.Skipf("PostgreSQL unavailable: %v", pgErr)
	}
	return pgAdmin
}

func withDB(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("testdb: bad DATABASE_URL: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

func execErr(dsn, stmt string) error {
	sdb, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer sdb.Close()
	_, err = sdb.Exec(stmt)
	if err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

func exec(tb testing.TB, dsn, stmt string) {
	tb.Helper()
	if err := execErr(dsn, stmt); err != nil {
		tb.Fatal(err)
	}
}

func execNoFail(dsn, stmt string) { _ = execErr(dsn, stmt) }
