package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/app"
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
