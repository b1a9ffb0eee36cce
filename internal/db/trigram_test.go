package db_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestTextFiltersUseTrigramIndexes: on PostgreSQL, the SQL ent generates
// for tenants' nameContains and the audit trail's q can be answered from
// the trigram indexes (the plan, with sequential scans priced out, uses
// them), so the filters do not need to scan the tables.
func TestTextFiltersUseTrigramIndexes(t *testing.T) {
	d := testdb.Open(t, dialect.Postgres)
	var captured []string
	var args [][]any
	drv := entsql.OpenDB(dialect.Postgres, d.SQL)
	debug := ent.NewClient(ent.Driver(dialectDebug{Driver: drv, log: func(q string, a []any) {
		captured, args = append(captured, q), append(args, a)
	}}))
	ctx := viewer.SystemContext(context.Background())
	if _, err := debug.Tenant.Query().Where(tenant.NameContains("acm")).All(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := debug.AuditEvent.Query().Where(audit.Text("acme")).All(ctx); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"tenant_name_trgm"},
		{"auditevent_action_trgm", "auditevent_resource_name_trgm", "auditevent_actor_email_trgm", "auditevent_tenant_slug_trgm"}}
	if len(captured) != len(want) {
		t.Fatalf("captured %d statements: %v", len(captured), captured)
	}
	conn, err := d.SQL.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for i, q := range captured {
		plan := explain(t, conn, q, args[i])
		for _, idx := range want[i] {
			if !strings.Contains(plan, idx) {
				t.Errorf("the plan of %s does not use %s:\n%s", q, idx, plan)
			}
		}
	}
}

func explain(t *testing.T, conn *sql.Conn, q string, args []any) string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "EXPLAIN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// dialectDebug records each query ent runs before running it.
type dialectDebug struct {
	*entsql.Driver
	log func(string, []any)
}

func (d dialectDebug) Query(ctx context.Context, query string, args, v any) error {
	if a, ok := args.([]any); ok {
		d.log(query, a)
	}
	return d.Driver.Query(ctx, query, args, v)
}
