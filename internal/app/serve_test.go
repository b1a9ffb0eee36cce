package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/app/demoupstreams"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/plugins/conformance"
)

// TestDemoProvisionsThroughPlugins starts the embedded demo with the real
// provider plugins against the in-process simulators (and stripe-mock when
// installed): a tenant created over GraphQL reaches OK on every integration
// that has an upstream, and billing is SKIPPED, not faked, without
// stripe-mock.
func TestDemoProvisionsThroughPlugins(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"authentik", "ocis", "stalwart", "stripe"} {
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/"+p, p, dir)
	}
	data := t.TempDir()
	s, err := app.Start(context.Background(), app.ServeConfig{
		Addr: "127.0.0.1:0", DataDir: data, Demo: true, DemoUpstreams: demoupstreams.Start, PluginsDir: dir,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok, err := app.MintFor(context.Background(), s.DB.Client, s.DevIssuer, "operator", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	query := func(q string) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": q})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer rsp.Body.Close()
		var out struct {
			Data   map[string]any
			Errors []any
		}
		if err := json.NewDecoder(rsp.Body).Decode(&out); err != nil || len(out.Errors) > 0 {
			t.Fatalf("%s: %v %v", q, out.Errors, err)
		}
		return out.Data
	}
	query(`mutation { createTenant(input: {slug: "hooli", name: "Hooli Inc.", plan: BUSINESS, seats: 7, domains: ["hooli.example"]}) { slug } }`)
	wantBilling := "OK"
	if demoupstreams.FindStripeMock() == "" {
		wantBilling = "SKIPPED"
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		rows := query(`{ tenant(slug: "hooli") { provisioning { integration status message } } }`)["tenant"].(map[string]any)["provisioning"].([]any)
		done, ok := true, true
		for _, r := range rows {
			m := r.(map[string]any)
			want := "OK"
			if m["integration"] == "BILLING" {
				want = wantBilling
			}
			done = done && m["status"] != "PENDING"
			ok = ok && m["status"] == want
		}
		if ok {
			break
		}
		if done || time.Now().After(deadline) {
			t.Fatalf("provisioning: %v", rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	health := query(`{ health { services { name status message } } }`)["health"].(map[string]any)["services"].([]any)
	if len(health) < 4 {
		t.Fatalf("health: %v", health)
	}
	for _, h := range health {
		if h.(map[string]any)["status"] == "BAD" {
			t.Fatalf("health: %v", health)
		}
	}
}

// TestDemoStartIsCheckpointed: on a fresh demo start the README's
// verifyAuditChain example reports a verified startup checkpoint (the
// seeding events are chained just after start; the startup checkpoint
// waits for them). On the embedded default, as `make run` starts it, and
// on a fresh PostgreSQL database with --migrate --demo true.
func TestDemoStartIsCheckpointed(t *testing.T) {
	for _, name := range testdb.Dialects {
		t.Run(name, func(t *testing.T) {
			cfg := app.ServeConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Demo: true,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if name == dialect.Postgres {
				cfg.DatabaseURL, cfg.Migrate = testdb.EmptyURL(t, dialect.Postgres), true
			}
			s, err := app.Start(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			waitForStartupCheckpoint(t, s)
		})
	}
}

// waitForStartupCheckpoint polls verifyAuditChain as the operator until it
// counts a checkpoint over a verified chain with events.
func waitForStartupCheckpoint(t *testing.T, s *app.Server) {
	t.Helper()
	tok, err := app.MintFor(context.Background(), s.DB.Client, s.DevIssuer, "operator", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		body, _ := json.Marshal(map[string]any{"query": `{ verifyAuditChain { ok eventsVerified checkpointsVerified } }`})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Data struct {
				VerifyAuditChain struct {
					OK                  bool
					EventsVerified      int
					CheckpointsVerified int
				}
			}
			Errors []any
		}
		err = json.NewDecoder(rsp.Body).Decode(&out)
		rsp.Body.Close()
		if err != nil || len(out.Errors) > 0 {
			t.Fatalf("verifyAuditChain: %v %v", out.Errors, err)
		}
		r := out.Data.VerifyAuditChain
		if !r.OK {
			t.Fatalf("chain does not verify: %+v", r)
		}
		if r.CheckpointsVerified >= 1 && r.EventsVerified > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint a minute after a demo start: %+v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
