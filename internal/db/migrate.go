package db

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strings"
	"time"
)

// migrationFiles are the versioned PostgreSQL migrations, named
// <version>_<description>.sql, applied in version order.
//
//go:embed migrations/postgres/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change.
type Migration struct {
	Version     string
	Description string
	SQL         string
	Checksum    string
}

// Migrations returns the embedded PostgreSQL migrations in order.
func Migrations() ([]Migration, error) {
	const dir = "migrations/postgres"
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		version, desc, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		if !ok || version == "" {
			return nil, fmt.Errorf("migration %s: want <version>_<description>.sql", name)
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: version, Description: desc, SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// migrateLockID is the PostgreSQL advisory lock key serialising migrators.
const migrateLockID = 0x64657a6b79 // "dezky"

// Migrate applies pending migrations to a PostgreSQL database, each in its
// own transaction, under an advisory lock so concurrent replicas never apply
// the same migration twice. An applied migration whose file changed since is
// an error, and a database holding versions this binary does not carry (a
// newer release migrated it) is refused with a *SchemaError before anything
// is applied. It returns the versions applied by this call.
func (d *DB) Migrate(ctx context.Context, log *slog.Logger) ([]string, error) {
	if !d.IsPostgres() {
		return nil, errors.New("migrate: versioned migrations are for PostgreSQL; SQLite is migrated at open")
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	conn, err := d.SQL.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: get connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockID); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockID) //nolint:errcheck // unlock also happens on close
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version text PRIMARY KEY,
		description text NOT NULL,
		checksum text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied := map[string]string{}
	rows, err := conn.QueryContext(ctx, `SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied: %w", err)
	}
	for rows.Next() {
		var v, c string
		if err := rows.Scan(&v, &c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate: read applied: %w", err)
		}
		applied[v] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read applied: %w", err)
	}
	if e := compareSchema(ms, applied); e != nil && len(e.Unknown) > 0 {
		return nil, e
	}
	var done []string
	for _, m := range ms {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum {
				return done, fmt.Errorf("migrate: migration %s_%s was changed after it was applied", m.Version, m.Description)
			}
			continue
		}
		start := time.Now()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return done, fmt.Errorf("migrate %s: begin: %w", m.Version, err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return done, fmt.Errorf("migrate %s_%s: %w", m.Version, m.Description, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, description, checksum) VALUES ($1, $2, $3)`,
			m.Version, m.Description, m.Checksum); err != nil {
			tx.Rollback()
			return done, fmt.Errorf("migrate %s: record: %w", m.Version, err)
		}
		if err := tx.Commit(); err != nil {
			return done, fmt.Errorf("migrate %s: commit: %w", m.Version, err)
		}
		done = append(done, m.Version)
		if log != nil {
			log.Info("migration applied", "version", m.Version, "description", m.Description, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	return done, nil
}
