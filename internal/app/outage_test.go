package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/pgcluster"
	"github.com/dezky/platform/internal/testing/testserver"
)

// outcome is the answer to one createTenant request.
type outcome struct {
	slug, key string
	ok        bool
	code      string // extensions.code of the first error
	status    int
}

// createTenant sends one createTenant mutation with an Idempotency-Key.
// Transport errors are reported as code "TRANSPORT".
func createTenant(url, token, slug, key string) outcome {
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($in: CreateTenantInput!) { createTenant(input: $in) { slug } }`,
		"variables": map[string]any{"in": map[string]any{"slug": slug, "name": "Load " + slug}},
	})
	o := outcome{slug: slug, key: key}
	req, _ := http.NewRequest(http.MethodPost, url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.code = "TRANSPORT"
		return o
	}
	defer rsp.Body.Close()
	o.status = rsp.StatusCode
	b, _ := io.ReadAll(rsp.Body)
	var r struct {
		Data struct {
			CreateTenant *struct{ Slug string } `json:"createTenant"`
		} `json:"data"`
		Errors []struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		o.code = "UNDECODABLE"
		return o
	}
	if len(r.Errors) > 0 {
		o.code, _ = r.Errors[0].Extensions["code"].(string)
		return o
	}
	o.ok = r.Data.CreateTenant != nil && r.Data.CreateTenant.Slug == slug
	return o
}

// TestPostgresRestartUnderLoad restarts PostgreSQL while 16 clients create
// tenants. Every request that fails must fail UNAVAILABLE (retryable),
// no tenant may be committed behind an error, the server must recover by
// itself, and retrying each failed request with its Idempotency-Key must
// then succeed exactly once.
func TestPostgresRestartUnderLoad(t *testing.T) {
	ctx := context.Background()
	cluster, err := pgcluster.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Stop() })
	dbURL := cluster.URL("postgres")
	s, err := app.Start(ctx, app.ServeConfig{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: dbURL, Migrate: true, Demo: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	token := testserver.Wrap(t, s).Token("operator")

	const clients = 16
	var (
		mu       sync.Mutex
		outcomes []outcome
		okCount  atomic.Int64
		failures atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				slug := fmt.Sprintf("load-%d-%d", c, i)
				o := createTenant(s.URL, token, slug, "key-"+slug)
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				if o.ok {
					okCount.Add(1)
				} else {
					failures.Add(1)
					time.Sleep(10 * time.Millisecond) // a client pacing its retries
				}
			}
		}()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("timed out waiting for %s (%d ok, %d failed)", what, okCount.Load(), failures.Load())
			}
		}
	}
	waitFor("load before the outage", func() bool { return okCount.Load() >= 2*clients })
	if err := cluster.StopServer(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor("failures during the outage", func() bool { return failures.Load() >= 2*clients })
	if err := cluster.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	recovered := okCount.Load()
	waitFor("recovery after the restart", func() bool { return okCount.Load() >= recovered+4*clients })
	stop.Store(true)
	wg.Wait()

	codes := map[string]int{}
	okSlugs := map[string]bool{}
	var failed []outcome
	for _, o := range outcomes {
		if o.ok {
			okSlugs[o.slug] = true
			continue
		}
		codes[o.code]++
		failed = append(failed, o)
	}
	t.Logf("%d requests: %d ok, %d failed %v", len(outcomes), len(okSlugs), len(failed), codes)
	if len(failed) == 0 {
		t.Fatal("no request failed during the outage: the restart was not observed")
	}
	for code, n := range codes {
		if code != "UNAVAILABLE" {
			t.Errorf("%d failed requests answered %s, want UNAVAILABLE", n, code)
		}
	}

	conn, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stored := func() map[string]bool {
		rows, err := conn.QueryContext(ctx, `SELECT slug FROM tenants WHERE slug LIKE 'load-%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]bool{}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			m[s] = true
		}
		return m
	}
	if got := stored(); !sameSet(got, okSlugs) {
		t.Fatalf("tenant rows differ from the mutations answered OK:\nstored but failed: %v\nanswered OK but missing: %v",
			minus(got, okSlugs), minus(okSlugs, got))
	}

	// A client retries UNAVAILABLE with the same Idempotency-Key.
	retry := make(chan outcome)
	var retryWG sync.WaitGroup
	for c := 0; c < clients; c++ {
		retryWG.Add(1)
		go func() {
			defer retryWG.Done()
			for o := range retry {
				if r := createTenant(s.URL, token, o.slug, o.key); !r.ok {
					t.Errorf("retry of %s with its Idempotency-Key: HTTP %d %s, want OK", o.slug, r.status, r.code)
				}
			}
		}()
	}
	for _, o := range failed {
		retry <- o
		okSlugs[o.slug] = true
	}
	close(retry)
	retryWG.Wait()
	if got := stored(); !sameSet(got, okSlugs) {
		t.Fatalf("after retries: stored but never requested %v, requested but missing %v", minus(got, okSlugs), minus(okSlugs, got))
	}
	var events, distinct int
	if err := conn.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT tenant_slug) FROM audit_events WHERE action = 'tenant.created' AND tenant_slug LIKE 'load-%'`).
		Scan(&events, &distinct); err != nil {
		t.Fatal(err)
	}
	if events != len(okSlugs) || distinct != len(okSlugs) {
		t.Fatalf("%d tenant.created events for %d distinct tenants, want one per tenant (%d)", events, distinct, len(okSlugs))
	}
}

func sameSet(a, b map[string]bool) bool {
	return len(minus(a, b)) == 0 && len(minus(b, a)) == 0
}

func minus(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
