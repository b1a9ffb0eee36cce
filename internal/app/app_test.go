package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/demo"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// TestTokenCommand: `dezky token` mints a token the running server accepts,
// for each demo role, and refuses unknown roles.
func TestTokenCommand(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			dir := t.TempDir()
			url := testdb.URL(t, d)
			s, err := app.Start(context.Background(), app.ServeConfig{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: url, Demo: true,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for _, tc := range []struct{ as, want string }{
				{"operator", `"isOperator":true`},
				{"partner:northwind", `"email":"staff@northwind.example"`},
				{"admin:acme", `"email":"admin@acme.example"`},
				{"member:globex", `"email":"member@globex.example"`},
			} {
				var out, errb bytes.Buffer
				if err := app.Run(context.Background(), []string{"token", "--data-dir", dir, "--database-url", url, "--as", tc.as}, &out, &errb); err != nil {
					t.Fatalf("token --as %s: %v (%s)", tc.as, err, errb.String())
				}
				req, _ := http.NewRequest("POST", s.URL+"/query", strings.NewReader(`{"query":"{ me { email isOperator } }"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(out.String()))
				rsp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(rsp.Body)
				rsp.Body.Close()
				if !strings.Contains(string(body), tc.want) {
					t.Fatalf("token --as %s: me = %s, want %s", tc.as, body, tc.want)
				}
			}
			for _, bad := range []string{"admin", "root", "partner:", "admin:nope"} {
				if err := app.Run(context.Background(), []string{"token", "--data-dir", dir, "--database-url", url, "--as", bad}, io.Discard, io.Discard); err == nil {
					t.Errorf("token --as %s: want an error", bad)
				}
			}
		})
	}
}

// TestMigrateCommand applies the migrations to an empty PostgreSQL
// database, then finds nothing left to do.
func TestMigrateCommand(t *testing.T) {
	url := testdb.EmptyURL(t, dialect.Postgres)
	for i, want := range []string{"applied", "up to date"} {
		var out bytes.Buffer
		if err := app.Run(context.Background(), []string{"migrate", "--database-url", url}, &out, io.Discard); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("run %d: %q, want %q", i, out.String(), want)
		}
	}
	if err := app.Run(context.Background(), []string{"migrate"}, io.Discard, io.Discard); err == nil {
		t.Fatal("migrate without --database-url: want an error")
	}
}

// TestUnmigratedDatabaseRefused: every command that uses an unmigrated
// PostgreSQL database refuses it with one line saying what to run, before
// it serves, seeds or reads anything; `serve --migrate` migrates and runs.
func TestUnmigratedDatabaseRefused(t *testing.T) {
	ctx := context.Background()
	url := testdb.EmptyURL(t, dialect.Postgres)
	dir := t.TempDir()
	// The data dir holds the keys a previous start made (development
	// issuer, audit signing key), so only the database is wrong.
	first, err := app.Start(ctx, app.ServeConfig{Addr: "127.0.0.1:0", DataDir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--database-url", url},
		{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--database-url", url, "--demo", "true"},
		{"token", "--data-dir", dir, "--database-url", url, "--as", "operator"},
		{"audit", "export", "--data-dir", dir, "--database-url", url, "--dir", t.TempDir()},
	} {
		err := app.Run(ctx, args, io.Discard, io.Discard)
		if err == nil || !db.IsSchemaError(err) || !strings.Contains(err.Error(), "run `dezky migrate` or pass --migrate") {
			t.Errorf("%v: %v, want the schema error", args, err)
		}
	}
	s, err := app.Start(ctx, app.ServeConfig{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: url, Migrate: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("start --migrate: %v", err)
	}
	defer s.Close()
	rsp, err := http.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz after --migrate: %d", rsp.StatusCode)
	}
	// A newer release migrates the shared database: this replica is no
	// longer ready, and says why.
	if _, err := s.DB.SQL.ExecContext(ctx, `INSERT INTO schema_migrations (version, description, checksum) VALUES ('99991231000000', 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	rsp, err = http.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	var body struct{ Status, Reason string }
	if err := json.NewDecoder(rsp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if rsp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.Reason, "newer than this binary") {
		t.Fatalf("/readyz with a newer schema: %d %+v", rsp.StatusCode, body)
	}
	// This binary's migrate does not claim it is up to date.
	var out bytes.Buffer
	if err := app.Run(ctx, []string{"migrate", "--database-url", url}, &out, io.Discard); !db.IsSchemaError(err) || out.Len() > 0 {
		t.Fatalf("migrate on a newer database: %v (printed %q), want the schema error", err, out.String())
	}
}

// TestDemoSeedsOnce: a second start on the same data dir keeps the data.
func TestDemoSeedsOnce(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		s, err := app.Start(context.Background(), app.ServeConfig{Addr: "127.0.0.1:0", DataDir: dir, Demo: true,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		ctx := viewer.SystemContext(context.Background())
		tenants, users := s.DB.Client.Tenant.Query().CountX(ctx), s.DB.Client.User.Query().CountX(ctx)
		s.Close()
		if tenants != 2 || users != len(demo.Users) {
			t.Fatalf("start %d: %d tenants, %d users; want 2, %d", i, tenants, users, len(demo.Users))
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	if err := app.Run(context.Background(), []string{"frobnicate"}, io.Discard, io.Discard); err == nil {
		t.Fatal("want an error")
	}
}

// TestProductionCommandRefusesDemoUpstreams: the production command has no
// simulators, so asking for them is an error before anything starts.
func TestProductionCommandRefusesDemoUpstreams(t *testing.T) {
	dir := t.TempDir()
	err := app.Run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--demo-upstreams", "true"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no demo upstreams") {
		t.Fatalf("serve --demo-upstreams true = %v, want the refusal", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("the refused serve wrote %d entries into the data dir", len(entries))
	}
}
