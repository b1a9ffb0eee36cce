package graph_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/ent/idempotencykey"
	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/authn/devissuer"
	"github.com/dezky/platform/internal/server"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/internal/viewer"
)

func TestIdempotencyKey(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			op := s.Token("operator")
			create := func(key, slug string) *testserver.Response {
				return s.Do(testserver.Request{Token: op, Headers: map[string]string{"Idempotency-Key": key},
					Query:     `mutation($s: String!) { createTenant(input: {slug: $s, name: "Idem"}) { id slug } }`,
					Variables: map[string]any{"s": slug}})
			}
			first := create("k-1", "idem-one")
			if len(first.Errors) > 0 {
				t.Fatalf("first: %s", first.Body)
			}
			s.WaitProvisioned()
			snapshot := countRows(t, s)
			replay := create("k-1", "idem-one")
			if string(replay.Data) != string(first.Data) {
				t.Fatalf("replay = %s, want the first response %s", replay.Data, first.Data)
			}
			if countRows(t, s) != snapshot {
				t.Fatal("replay wrote to the database")
			}
			if rsp := create("k-1", "idem-two"); rsp.Code() != "CONFLICT" {
				t.Fatalf("same key, different request: %s", rsp.Body)
			}
			if countRows(t, s) != snapshot {
				t.Fatal("conflicting replay wrote to the database")
			}
			// Keys are scoped per subject: another operator-ish caller with the
			// same key is a different request. A failed mutation stores nothing,
			// so its key can be retried.
			if rsp := s.Do(testserver.Request{Token: op, Headers: map[string]string{"Idempotency-Key": "k-2"},
				Query: `mutation { createTenant(input: {slug: "acme", name: "dup"}) { id } }`}); rsp.Code() != "CONFLICT" {
				t.Fatalf("duplicate slug: %s", rsp.Body)
			}
			if rsp := s.Do(testserver.Request{Token: op, Headers: map[string]string{"Idempotency-Key": "k-2"},
				Query: `mutation { createTenant(input: {slug: "idem-three", name: "ok"}) { id } }`}); len(rsp.Errors) > 0 {
				t.Fatalf("key of a failed request could not be reused: %s", rsp.Body)
			}
			// Concurrent requests with one key create one tenant.
			var wg sync.WaitGroup
			bodies := make([]string, 6)
			for i := range bodies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					bodies[i] = string(create("k-race", "idem-race").Data)
				}()
			}
			wg.Wait()
			var n struct{ Tenants struct{ TotalCount int } }
			s.Query("operator", `{ tenants(where: {slug: "idem-race"}) { totalCount } }`, nil).Decode(t, &n)
			if n.Tenants.TotalCount != 1 {
				t.Fatalf("concurrent replays created %d tenants", n.Tenants.TotalCount)
			}
			for _, b := range bodies {
				if b != bodies[0] || b == "null" {
					t.Fatalf("concurrent requests with one key answered differently: %v", bodies)
				}
			}
		})
	}
}

// TestMutationIsAtomic: when one field of a mutation operation fails, the
// other fields' changes and audit events roll back with it.
func TestMutationIsAtomic(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			before := countRows(t, s)
			rsp := s.Query("operator", `mutation { a: suspendTenant(slug: "acme") { status } b: suspendTenant(slug: "nope") { status } }`, nil)
			if rsp.Code() != "NOT_FOUND" {
				t.Fatalf("want NOT_FOUND from the second field: %s", rsp.Body)
			}
			if countRows(t, s) != before {
				t.Fatal("a failed mutation operation left changes behind")
			}
			var tn struct{ Tenant struct{ Status string } }
			s.Query("operator", `{ tenant(slug: "acme") { status } }`, nil).Decode(t, &tn)
			if tn.Tenant.Status != "ACTIVE" {
				t.Fatalf("acme status = %s, want ACTIVE", tn.Tenant.Status)
			}
		})
	}
}

func TestQueryLimits(t *testing.T) {
	s := testserver.Start(t, testdb.Dialects[0])
	deep := "{ tenants(first: 1) { edges { node { partner { tenants(first: 1) { edges { node { partner { tenants(first: 1) { edges { node { partner { tenants(first: 1) { edges { node { slug } } } } } } } } } } } } } } } }"
	for _, tc := range []struct{ name, query, code string }{
		{"page too large", `{ tenants(first: 1000) { totalCount } }`, "BAD_USER_INPUT"},
		{"negative page", `{ tenants(first: -1) { totalCount } }`, "BAD_USER_INPUT"},
		{"too deep", deep, "BAD_USER_INPUT"},
		// 100 tenants × 100 memberships each: within every page limit, over the complexity budget.
		{"too complex", `{ tenants(first: 100) { edges { node { memberships(first: 100) { edges { node { id } } } } } } }`, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"unknown field", `{ nope }`, "GRAPHQL_VALIDATION_FAILED"},
		{"syntax", `{ tenants(`, "GRAPHQL_PARSE_FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rsp := s.Query("operator", tc.query, nil); rsp.Code() != tc.code {
				t.Fatalf("code = %q, want %q: %s", rsp.Code(), tc.code, rsp.Body)
			}
		})
	}
	// Without first/last a connection returns a bounded default page.
	var page struct {
		AuditEvents struct {
			Edges    []struct{ Cursor string }
			PageInfo struct{ HasNextPage bool }
		}
	}
	for i := 0; i < 45; i++ {
		s.Query("operator", fmt.Sprintf(`mutation { updateTenant(slug: "acme", input: {seats: %d}) { id } }`, i+1), nil).Decode(t, &struct{}{})
	}
	s.Query("operator", `{ auditEvents { edges { cursor } pageInfo { hasNextPage } } }`, nil).Decode(t, &page)
	if len(page.AuditEvents.Edges) != 50 || !page.AuditEvents.PageInfo.HasNextPage {
		t.Fatalf("default page: %d edges, hasNextPage %v; want 50, true", len(page.AuditEvents.Edges), page.AuditEvents.PageInfo.HasNextPage)
	}
}

func TestAuthentication(t *testing.T) {
	s := testserver.Start(t, testdb.Dialects[0])
	other, err := devissuer.LoadOrCreate(t.TempDir()+"/key.pem", s.DevIssuer.URL())
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := devissuer.LoadOrCreate(t.TempDir()+"/key.pem", "http://127.0.0.1:1/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	mint := func(iss *devissuer.Issuer, aud string) string {
		tok, err := iss.Mint(devissuer.MintClaims{Subject: "demo-operator", Audience: []string{aud}, TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := mint(s.DevIssuer, app.DefaultOperatorAudience)
	parts := strings.Split(good, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	for _, tc := range []struct{ name, token string }{
		{"signed by another key", mint(other, app.DefaultOperatorAudience)},
		{"unknown issuer", mint(stranger, app.DefaultOperatorAudience)},
		{"wrong audience", mint(s.DevIssuer, "someone-else")},
		{"alg none", none},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x"}`)) + "." + parts[2]},
		{"garbage", "not-a-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rsp := s.Do(testserver.Request{Token: tc.token, Query: `{ me { email } }`})
			if rsp.Status != 401 || rsp.Code() != "UNAUTHENTICATED" {
				t.Fatalf("HTTP %d code %q, want 401 UNAUTHENTICATED: %s", rsp.Status, rsp.Code(), rsp.Body)
			}
		})
	}
	if rsp := s.Do(testserver.Request{Token: good, Query: `{ me { email } }`}); len(rsp.Errors) > 0 {
		t.Fatalf("good token rejected: %s", rsp.Body)
	}
	// Anonymous callers may introspect (the playground needs it), nothing else.
	if rsp := s.Do(testserver.Request{Query: `{ __schema { queryType { name } } }`}); len(rsp.Errors) > 0 {
		t.Fatalf("anonymous introspection: %s", rsp.Body)
	}
}

// TestIdempotencyKeyExpires: a key older than the window is new again
// (even before the expiry job removed it), and the expiry job deletes
// exactly the expired records.
func TestIdempotencyKeyExpires(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			op := s.Token("operator")
			create := func(key, slug string) *testserver.Response {
				return s.Do(testserver.Request{Token: op, Headers: map[string]string{"Idempotency-Key": key},
					Query:     `mutation($s: String!) { createTenant(input: {slug: $s, name: "Idem"}) { id slug } }`,
					Variables: map[string]any{"s": slug}})
			}
			age := func(key string, by time.Duration) {
				t.Helper()
				q := `UPDATE idempotency_keys SET created_at = ? WHERE key = ?`
				if d == dialect.Postgres {
					q = `UPDATE idempotency_keys SET created_at = $1 WHERE key = $2`
				}
				if _, err := s.DB.SQL.ExecContext(context.Background(), q, time.Now().Add(-by), key); err != nil {
					t.Fatal(err)
				}
			}
			if rsp := create("k-old", "idem-old-one"); len(rsp.Errors) > 0 {
				t.Fatalf("first: %s", rsp.Body)
			}
			age("k-old", server.IdempotencyWindow+time.Minute)
			// Within the window this would be a CONFLICT; expired, it is a
			// new request and runs.
			second := create("k-old", "idem-old-two")
			if len(second.Errors) > 0 {
				t.Fatalf("expired key was not treated as new: %s", second.Body)
			}
			if replay := create("k-old", "idem-old-two"); string(replay.Data) != string(second.Data) {
				t.Fatalf("replay of the renewed key = %s, want %s", replay.Data, second.Data)
			}
			if rsp := create("k-expire", "idem-old-three"); len(rsp.Errors) > 0 {
				t.Fatalf("k-expire: %s", rsp.Body)
			}
			if rsp := create("k-fresh", "idem-fresh"); len(rsp.Errors) > 0 {
				t.Fatalf("k-fresh: %s", rsp.Body)
			}
			age("k-expire", server.IdempotencyWindow+time.Second)
			sys := viewer.SystemContext(context.Background())
			n, err := server.ExpireIdempotencyKeys(sys, s.DB.Client, time.Now())
			if err != nil || n != 1 {
				t.Fatalf("expired %d keys (%v), want 1", n, err)
			}
			left, err := s.DB.Client.IdempotencyKey.Query().Select(idempotencykey.FieldKey).Strings(sys)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(left)
			if want := []string{"k-fresh", "k-old"}; !slices.Equal(left, want) {
				t.Fatalf("keys left = %v, want %v", left, want)
			}
			if n, err := server.ExpireIdempotencyKeys(sys, s.DB.Client, time.Now()); err != nil || n != 0 {
				t.Fatalf("second run expired %d keys (%v), want 0", n, err)
			}
		})
	}
}
