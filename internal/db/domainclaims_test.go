package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
)

// legacyTenants are tenants written before domains were claimed: two list
// the same domain (in different spellings), a deleted one lists a domain,
// one has no list at all.
const legacyTenants = `INSERT INTO tenants (id, created_at, updated_at, slug, name, plan, seats, status, domains) VALUES
 (%[1]s1, %[2]s, %[2]s, 'older', 'Older', 'STARTER', 0, 'ACTIVE', '["dup.example", "older.example"]'),
 (%[1]s2, %[3]s, %[3]s, 'newer', 'Newer', 'STARTER', 0, 'ACTIVE', '["DUP.example.", "newer.example"]'),
 (%[1]s3, %[2]s, %[2]s, 'gone', 'Gone', 'STARTER', 0, 'DELETED', '["gone.example"]'),
 (%[1]s4, %[2]s, %[2]s, 'plain', 'Plain', 'STARTER', 0, 'ACTIVE', 'null')`

// claims returns "domain=tenant slug" for every claim, sorted: the claims
// end up as PENDING mail domains with an ownership token each.
func claims(t *testing.T, sdb *sql.DB) string {
	t.Helper()
	rows, err := sdb.Query(`SELECT d.name, t.slug FROM mail_domains d JOIN tenants t ON t.id = d.tenant_id WHERE d.status = 'PENDING' AND length(d.ownership_token) = 32`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n, s string
		if err := rows.Scan(&n, &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, n+"="+s)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

const wantClaims = "dup.example=older,newer.example=newer,older.example=older"

// TestDomainClaimsBackfillPostgres applies the migrations before the one
// that adds tenant_domains, writes tenants that share a domain, then
// applies the rest: the migration succeeds and the first claim wins.
func TestDomainClaimsBackfillPostgres(t *testing.T) {
	sdb, err := sql.Open("postgres", testdb.EmptyURL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	inserted := false
	for _, m := range ms {
		if m.Description == "tenant_domains" {
			if _, err := sdb.Exec(fmtSQL(legacyTenants, "2147483648", "'2026-01-01T00:00:00Z'", "'2026-02-01T00:00:00Z'")); err != nil {
				t.Fatalf("insert legacy tenants: %v", err)
			}
			inserted = true
		}
		if _, err := sdb.Exec(m.SQL); err != nil {
			t.Fatalf("migration %s_%s: %v", m.Version, m.Description, err)
		}
	}
	if !inserted {
		t.Fatal("no tenant_domains migration")
	}
	if got := claims(t, sdb); got != wantClaims {
		t.Fatalf("claims = %s, want %s", got, wantClaims)
	}
}

// TestDomainClaimsBackfillSQLite: a SQLite database from before the claims
// table gets the same claims when it is opened.
func TestDomainClaimsBackfillSQLite(t *testing.T) {
	ctx := context.Background()
	url := "sqlite://" + filepath.Join(t.TempDir(), "legacy.db")
	d, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SQL.Exec(`DROP TABLE mail_domains`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SQL.Exec(fmtSQL(legacyTenants, "2147483648", "'2026-01-01 00:00:00+00:00'", "'2026-02-01 00:00:00+00:00'")); err != nil {
		t.Fatalf("insert legacy tenants: %v", err)
	}
	d.Close()
	d, err = db.Open(ctx, url)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer d.Close()
	if got := claims(t, d.SQL); got != wantClaims {
		t.Fatalf("claims = %s, want %s", got, wantClaims)
	}
	// Opened again, nothing is claimed twice or anew.
	if _, err := d.SQL.Exec(`DELETE FROM mail_domains WHERE name = 'older.example'`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if got := claims(t, d.SQL); got != "dup.example=older,newer.example=newer" {
		t.Fatalf("claims after a second open = %s", got)
	}
	d.Close()
}

func fmtSQL(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// TestDomainClaimsCarriedOverSQLite: a SQLite database of the release with
// the tenant_domains claims table gets each claim as a PENDING mail domain
// with its own token when it is opened, and loses the old table.
func TestDomainClaimsCarriedOverSQLite(t *testing.T) {
	ctx := context.Background()
	url := "sqlite://" + filepath.Join(t.TempDir(), "claims.db")
	d, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DROP TABLE mail_domains`,
		`CREATE TABLE tenant_domains (id integer PRIMARY KEY AUTOINCREMENT, name text NOT NULL UNIQUE, tenant_id integer NOT NULL, created_at datetime NOT NULL)`,
		fmtSQL(legacyTenants, "2147483648", "'2026-01-01 00:00:00+00:00'", "'2026-02-01 00:00:00+00:00'"),
		`INSERT INTO tenant_domains (name, tenant_id, created_at) VALUES ('dup.example', 21474836482, '2026-03-01 00:00:00+00:00'), ('older.example', 21474836481, '2026-03-01 00:00:00+00:00')`,
	} {
		if _, err := d.SQL.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	d.Close()
	d, err = db.Open(ctx, url)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer d.Close()
	if got := claims(t, d.SQL); got != "dup.example=newer,older.example=older" {
		t.Fatalf("claims = %s, want the claims table's", got)
	}
	var tokens int
	if err := d.SQL.QueryRow(`SELECT COUNT(DISTINCT ownership_token) FROM mail_domains`).Scan(&tokens); err != nil || tokens != 2 {
		t.Fatalf("distinct tokens = %d, %v", tokens, err)
	}
	if _, err := d.SQL.Exec(`SELECT 1 FROM tenant_domains`); err == nil {
		t.Fatal("tenant_domains still exists")
	}
}
