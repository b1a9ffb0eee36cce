package db_test

import (
	"database/sql"
	"encoding/json"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
)

// TestProvisioningJobsCarryOverToRiver upgrades a database whose old
// provisioning queue still holds a job: the migration that drops the queue
// turns it into a river provisioning job of generation 0.
func TestProvisioningJobsCarryOverToRiver(t *testing.T) {
	const dropping = "20261203081947"
	conn, err := sql.Open("postgres", testdb.EmptyURL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	queued := false
	for _, m := range ms {
		if m.Version == dropping {
			if _, err := conn.Exec(`INSERT INTO provisioning_jobs (tenant_id, integration, reason, run_at, created_at)
				VALUES (42, 'BILLING', 'tenant seats', now(), now())`); err != nil {
				t.Fatal(err)
			}
			queued = true
		}
		if _, err := conn.Exec(m.SQL); err != nil {
			t.Fatalf("migration %s: %v", m.Version, err)
		}
	}
	if !queued {
		t.Fatalf("migration %s not found", dropping)
	}
	var kind, state string
	var raw []byte
	if err := conn.QueryRow(`SELECT kind, state, args FROM river_job`).Scan(&kind, &state, &raw); err != nil {
		t.Fatal(err)
	}
	var args map[string]any
	if err := json.Unmarshal(raw, &args); err != nil {
		t.Fatal(err)
	}
	if kind != "provision_integration" || state != "available" || args["tenant_id"] != 42.0 ||
		args["integration"] != "BILLING" || args["generation"] != 0.0 || args["reason"] != "tenant seats" {
		t.Fatalf("carried-over job: kind %s, state %s, args %s", kind, state, raw)
	}
	var exists bool
	if err := conn.QueryRow(`SELECT to_regclass('provisioning_jobs') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("old queue table still there (%v)", err)
	}
}
