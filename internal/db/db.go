// Package db opens the platform database and runs work in transactions.
//
// Two engines are supported: embedded SQLite (pure Go, the zero-setup
// default, schema auto-migrated at open) and PostgreSQL (production, schema
// changed only by the versioned migration files in ./migrations, applied by
// Migrate). Open picks the engine from the URL.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	entsql "entgo.io/ent/dialect/sql"

	"entgo.io/ent/dialect"
	_ "github.com/lib/pq" // PostgreSQL driver
	"modernc.org/sqlite"

	"github.com/dezky/platform/ent"
	_ "github.com/dezky/platform/ent/runtime" // privacy policies and hooks
)

func init() {
	// ent's SQLite dialect expects the driver name "sqlite3"; register the
	// pure-Go driver under it (never link another sqlite3 driver).
	sql.Register("sqlite3", &sqlite.Driver{})
}

// DB is an open database.
type DB struct {
	Client  *ent.Client
	SQL     *sql.DB
	Dialect string // dialect.SQLite or dialect.Postgres
	url     string
	// statements counts what Client sends (see Statements).
	statements *atomic.Int64
}

// Statements returns how many statements Client has sent to the database
// since it was opened: queries, executions, and the begin and end of each
// transaction. SQL run directly on SQL (the job engine, the audit chain's
// own queries) is not counted. Benchmarks divide it by requests.
func (d *DB) Statements() int64 {
	if d.statements == nil {
		return 0
	}
	return d.statements.Load()
}

// URL returns the URL the database was opened with (it may hold a
// password: never log it; see Redact).
func (d *DB) URL() string { return d.url }

// Close closes the client and the pool.
func (d *DB) Close() error { return d.Client.Close() }

// IsPostgres reports whether the database is PostgreSQL.
func (d *DB) IsPostgres() bool { return d.Dialect == dialect.Postgres }

// SQLitePath returns the database URL of the embedded database in dataDir.
func SQLitePath(dataDir string) string {
	return "sqlite://" + filepath.Join(dataDir, "dezky.db")
}

// Open opens the database at rawURL: postgres://… or postgresql://… for
// PostgreSQL, sqlite://<path> for SQLite.
// SQLite databases are auto-migrated; PostgreSQL is not (see Migrate).
func Open(ctx context.Context, rawURL string) (*DB, error) {
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL)
	case strings.HasPrefix(rawURL, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(rawURL, "sqlite://"))
	default:
		return nil, fmt.Errorf("open database: unsupported URL scheme (want postgres:// or sqlite://)")
	}
}

// maxConns is the PostgreSQL pool's size, open and idle.
const maxConns = 20

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	sdb, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// As many idle connections as open ones: with Go's default of 2 idle,
	// a burst above 2 concurrent queries closes the extra sessions and the
	// next burst opens them again (a new PostgreSQL backend each).
	sdb.SetMaxOpenConns(maxConns)
	sdb.SetMaxIdleConns(maxConns)
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("connect postgres %s: %w", Redact(dsn), err)
	}
	drv := entsql.OpenDB(dialect.Postgres, sdb)
	n := new(atomic.Int64)
	return &DB{Client: newClient(drv, n), SQL: sdb, Dialect: dialect.Postgres, url: dsn, statements: n}, nil
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database dir: %w", err)
	}
	sdb, err := sql.Open("sqlite3", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	drv := entsql.OpenDB(dialect.SQLite, sdb)
	n := new(atomic.Int64)
	d := &DB{Client: newClient(drv, n), SQL: sdb, Dialect: dialect.SQLite, url: "sqlite://" + path, statements: n}
	hadDomains, err := sqliteTableExists(ctx, sdb, "mail_domains")
	if err == nil && !hadDomains {
		err = d.Client.Schema.Create(ctx)
		if err == nil {
			err = carrySQLiteDomainClaims(ctx, sdb)
		}
	} else if err == nil {
		err = d.Client.Schema.Create(ctx)
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("migrate sqlite %s: %w", path, err)
	}
	return d, nil
}

// Redact returns the URL with any password replaced, for logs and errors.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable database url>"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// sqliteDSN is the DSN of the SQLite database file at path.
func sqliteDSN(path string) string {
	return "file:" + path + "?_txlock=immediate&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
}

// OpenPool opens a separate connection pool to the same database (for a
// component that needs its own, like the job engine on SQLite). The caller
// closes it.
func (d *DB) OpenPool(ctx context.Context) (*sql.DB, error) {
	driver, dsn := "postgres", d.url
	if !d.IsPostgres() {
		driver, dsn = "sqlite3", sqliteDSN(strings.TrimPrefix(d.url, "sqlite://"))
	}
	p, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("open pool to %s: %w", Redact(d.url), err)
	}
	return p, nil
}
