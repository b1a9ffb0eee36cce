package db

import (
	"context"
	"database/sql"
	"fmt"
)

// sqliteTableExists reports whether a SQLite database has the table.
func sqliteTableExists(ctx context.Context, sdb *sql.DB, table string) (bool, error) {
	var n int
	if err := sdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", table, err)
	}
	return n > 0, nil
}

// carrySQLiteDomainClaims is the SQLite twin of the data steps of the
// PostgreSQL migrations that introduced tenant_domains and then
// mail_domains, run once, when mail_domains has just been created. The
// claims of tenant_domains (or, in a database older than it, the domains
// that non-deleted tenants list, the first claim winning: the tenant
// created first, then the lower id) become PENDING mail domains with a
// fresh ownership token each, and tenant_domains is dropped.
func carrySQLiteDomainClaims(ctx context.Context, sdb *sql.DB) error {
	hadClaims, err := sqliteTableExists(ctx, sdb, "tenant_domains")
	if err != nil {
		return err
	}
	const insert = `INSERT OR IGNORE INTO mail_domains (created_at, updated_at, name, tenant_id, status, "primary", ownership_token, records, managed_dns)
`
	claims := `SELECT created_at, created_at, name, tenant_id, 'PENDING', false, lower(hex(randomblob(16))), '[]', false
FROM tenant_domains ORDER BY id`
	if !hadClaims {
		claims = `SELECT t.created_at, t.created_at, lower(rtrim(trim(j.value), '.')), t.id, 'PENDING', false, lower(hex(randomblob(16))), '[]', false
FROM tenants t, json_each(CASE WHEN json_type(t.domains) = 'array' THEN t.domains ELSE '[]' END) j
WHERE t.status <> 'DELETED' AND rtrim(trim(j.value), '.') <> ''
AND NOT EXISTS (SELECT 1 FROM tenants o, json_each(CASE WHEN json_type(o.domains) = 'array' THEN o.domains ELSE '[]' END) k
  WHERE o.status <> 'DELETED' AND lower(rtrim(trim(k.value), '.')) = lower(rtrim(trim(j.value), '.'))
  AND (o.created_at < t.created_at OR (o.created_at = t.created_at AND o.id < t.id)))
ORDER BY t.created_at, t.id`
	}
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("carry domain claims over: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, insert+claims); err != nil {
		return fmt.Errorf("carry domain claims over: %w", err)
	}
	if hadClaims {
		if _, err := tx.ExecContext(ctx, `DROP TABLE tenant_domains`); err != nil {
			return fmt.Errorf("drop tenant_domains: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("carry domain claims over: %w", err)
	}
	return nil
}
