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

// backfillSQLiteDomainClaims is the SQLite twin of the data step of the
// PostgreSQL migration that introduced tenant_domains, run once, when the
// table has just been created: every domain that non-deleted tenants list
// is claimed; where two tenants list the same domain the first claim wins
// (the tenant created first, then the lower id), and the other keeps the
// name in its list, unclaimed.
func backfillSQLiteDomainClaims(ctx context.Context, sdb *sql.DB) error {
	const stmt = `INSERT OR IGNORE INTO tenant_domains (name, tenant_id, created_at)
SELECT lower(rtrim(trim(j.value), '.')), t.id, t.created_at
FROM tenants t, json_each(CASE WHEN json_type(t.domains) = 'array' THEN t.domains ELSE '[]' END) j
WHERE t.status <> 'DELETED' AND rtrim(trim(j.value), '.') <> ''
ORDER BY t.created_at, t.id`
	if _, err := sdb.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("claim existing tenant domains: %w", err)
	}
	return nil
}
