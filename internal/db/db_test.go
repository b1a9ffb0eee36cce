package db_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// TestMigrationsMatchSchema applies the versioned migration files to a
// fresh PostgreSQL database and asks ent what it would still change: the
// answer must be nothing, or a schema change shipped without its migration
// (run `make migration name=...`).
func TestMigrationsMatchSchema(t *testing.T) {
	d := testdb.Open(t, dialect.Postgres)
	var buf bytes.Buffer
	if err := d.Client.Schema.WriteTo(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	var pending []string
	for _, line := range strings.Split(buf.String(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "BEGIN;" || line == "COMMIT;" || strings.HasPrefix(line, "--") {
			continue
		}
		pending = append(pending, line)
	}
	if len(pending) > 0 {
		t.Fatalf("migrations are behind the ent schema; run `make migration name=...`. Pending:\n%s", strings.Join(pending, "\n"))
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	d := testdb.Open(t, dialect.Postgres)
	applied, err := d.Migrate(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second Migrate applied %v, want nothing", applied)
	}
}

func TestMigrateRefusesSQLite(t *testing.T) {
	d := testdb.Open(t, dialect.SQLite)
	if _, err := d.Migrate(context.Background(), nil); err == nil {
		t.Fatal("Migrate on SQLite: want an error")
	}
}

func TestMigrations(t *testing.T) {
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i := 1; i < len(ms); i++ {
		if ms[i-1].Version >= ms[i].Version {
			t.Fatalf("migrations out of order: %s before %s", ms[i-1].Version, ms[i].Version)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://h/db?password=secret", "postgres://h/db?password=xxxxx"},
		{"postgres://u@h/db", "postgres://u@h/db"},
	} {
		if got := db.Redact(tc.in); got != tc.want || strings.Contains(got, "secret") {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("postgres://u:secret@h:5432/db")
	f.Add("postgres://h/db?password=secret&x=1")
	f.Fuzz(func(t *testing.T, raw string) {
		out := db.Redact(raw)
		if strings.Contains(raw, ":hunter2@") && strings.Contains(out, "hunter2") {
			t.Fatalf("Redact(%q) = %q leaks the password", raw, out)
		}
	})
}
