package graph_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/ratelimit"
	"github.com/dezky/platform/internal/server"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// postJSON sends a JSON body to path and returns status, headers and body.
func postJSON(t *testing.T, s *testserver.Server, path, token string, body any, headers map[string]string) (int, http.Header, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	out, err := io.ReadAll(rsp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rsp.StatusCode, rsp.Header, out
}

type costed struct {
	Data       json.RawMessage `json:"data"`
	Errors     []testserver.Error
	Extensions struct {
		Cost struct {
			RequestedQueryCost int
			ActualQueryCost    int
			ThrottleStatus     *struct {
				MaximumAvailable, CurrentlyAvailable, RestoreRate float64
			}
		}
	}
}

func costQuery(t *testing.T, s *testserver.Server, token, query string) (costed, http.Header) {
	t.Helper()
	status, h, body := postJSON(t, s, "/query", token, map[string]any{"query": query}, nil)
	var c costed
	if err := json.Unmarshal(body, &c); err != nil || status != http.StatusOK {
		t.Fatalf("HTTP %d %s: %v", status, body, err)
	}
	return c, h
}

// TestCostReportedAndThrottled: every response reports its requested and
// actual cost; with budgets, the caller's bucket is charged the actual
// cost, an operation it cannot cover is THROTTLED before it runs, with the
// rate-limit headers and a retry hint.
func TestCostReportedAndThrottled(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.StartWith(t, d, func(c *app.ServeConfig) {
				c.RateLimits = map[ratelimit.Class]ratelimit.Budget{ratelimit.Tenant: {Max: 400, Restore: 1}}
			})
			const list = `{ tenants(first: 50) { edges { node { slug } } } }`
			// Operators have no budget here: cost is reported, not limited.
			c, h := costQuery(t, s, s.Token("operator"), list)
			var data struct{ Tenants struct{ Edges []any } }
			if err := json.Unmarshal(c.Data, &data); err != nil {
				t.Fatal(err)
			}
			n := len(data.Tenants.Edges)
			if c.Extensions.Cost.RequestedQueryCost != 1+50*3 || c.Extensions.Cost.ActualQueryCost != 1+n*3 || n == 0 {
				t.Fatalf("cost = %+v for %d edges; want requested 151, actual %d", c.Extensions.Cost, n, 1+n*3)
			}
			if c.Extensions.Cost.ThrottleStatus != nil || h.Get("X-RateLimit-Limit") != "" {
				t.Fatalf("unlimited class reports a throttle status: %+v %v", c.Extensions.Cost, h)
			}

			// A tenant member: charged the actual cost only.
			tok := s.Token("member:acme")
			c, h = costQuery(t, s, tok, list)
			ts := c.Extensions.Cost.ThrottleStatus
			if ts == nil || ts.MaximumAvailable != 400 || ts.RestoreRate != 1 {
				t.Fatalf("throttle status = %+v", c.Extensions.Cost)
			}
			spent := c.Extensions.Cost.ActualQueryCost
			if spent >= c.Extensions.Cost.RequestedQueryCost || ts.CurrentlyAvailable < float64(400-spent) || ts.CurrentlyAvailable > 400 {
				t.Fatalf("after one query: %+v; want about %d left", c.Extensions.Cost, 400-spent)
			}
			if h.Get("X-RateLimit-Limit") != "400" || h.Get("X-RateLimit-Remaining") == "" || h.Get("X-RateLimit-Reset") == "" {
				t.Fatalf("rate-limit headers: %v", h)
			}

			// More than the bucket ever holds: refused, never retryable.
			c, _ = costQuery(t, s, tok, `{ tenants(first: 100) { edges { node { slug name } } } }`)
			if len(c.Errors) != 1 || c.Errors[0].Extensions["code"] != server.CodeThrottled || c.Errors[0].Extensions["retryAfterSeconds"] != float64(-1) || string(c.Data) != "" && string(c.Data) != "null" {
				t.Fatalf("oversized operation: %+v data=%s", c.Errors, c.Data)
			}

			// Drain the bucket with worst-case reservations: a mutation that
			// cannot be covered is refused before it runs.
			heavy := `{ a: tenants(first: 60) { edges { node { slug } } } b: tenants(first: 60) { edges { node { slug } } } }`
			for i := 0; ; i++ {
				c, h = costQuery(t, s, tok, heavy)
				if len(c.Errors) > 0 {
					break
				}
				if i > 50 {
					t.Fatal("never throttled")
				}
				// Keep the bucket low: only the actual cost is kept, so spend
				// until a worst-case reservation no longer fits.
			}
			if c.Errors[0].Extensions["code"] != server.CodeThrottled {
				t.Fatalf("want THROTTLED, got %+v", c.Errors)
			}
			retry, err := strconv.Atoi(h.Get("Retry-After"))
			if err != nil || retry < 1 || c.Errors[0].Extensions["retryAfterSeconds"] != float64(retry) {
				t.Fatalf("Retry-After %q vs extension %v", h.Get("Retry-After"), c.Errors[0].Extensions["retryAfterSeconds"])
			}
			// Another subject has its own bucket.
			if c, _ := costQuery(t, s, s.Token("admin:globex"), heavy); len(c.Errors) > 0 {
				t.Fatalf("another user throttled: %+v", c.Errors)
			}
		})
	}
}

// TestPersistedQueriesOnly: in allow-list mode only manifest operations
// run, sent as text or by hash; everything else, including automatic
// persisted-query registration of an unlisted operation, is refused.
func TestPersistedQueriesOnly(t *testing.T) {
	listed := `query Me { me { email } }`
	sum := sha256.Sum256([]byte(listed))
	hash := hex.EncodeToString(sum[:])
	manifest := fmt.Sprintf(`{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":%q,"name":"Me","type":"query","body":%q}]}`, hash, listed)
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	pq, err := server.LoadPersistedQueries(path)
	if err != nil {
		t.Fatal(err)
	}
	pq.Only = true
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.StartWith(t, d, func(c *app.ServeConfig) { c.PersistedQueries = pq })
			tok := s.Token("admin:acme")
			post := func(body map[string]any) (string, string) {
				_, _, b := postJSON(t, s, "/query", tok, body, nil)
				var r struct {
					Data   struct{ Me struct{ Email string } }
					Errors []testserver.Error
				}
				if err := json.Unmarshal(b, &r); err != nil {
					t.Fatalf("%s: %v", b, err)
				}
				if len(r.Errors) > 0 {
					code, _ := r.Errors[0].Extensions["code"].(string)
					return "", code
				}
				return r.Data.Me.Email, ""
			}
			ext := func(h string) map[string]any {
				return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": h}}
			}
			if email, code := post(map[string]any{"query": listed}); email != "admin@acme.example" {
				t.Fatalf("listed text: %q %s", email, code)
			}
			if email, code := post(map[string]any{"extensions": ext(hash)}); email != "admin@acme.example" {
				t.Fatalf("listed hash: %q %s", email, code)
			}
			other := `{ me { email name } }`
			otherSum := sha256.Sum256([]byte(other))
			otherHash := hex.EncodeToString(otherSum[:])
			for name, body := range map[string]map[string]any{
				"unlisted text":             {"query": other},
				"unknown hash":              {"extensions": ext(otherHash)},
				"registration of unlisted":  {"query": other, "extensions": ext(otherHash)},
				"listed hash, other text":   {"query": other, "extensions": ext(hash)},
				"introspection in the list": {"query": `{ __schema { queryType { name } } }`},
			} {
				if _, code := post(body); code != server.CodePersistedQueryNotAllowed {
					t.Errorf("%s: code %q, want %s", name, code, server.CodePersistedQueryNotAllowed)
				}
			}
		})
	}
}

func TestParsePersistedQueriesRejectsWrongIDs(t *testing.T) {
	for name, m := range map[string]string{
		"wrong id":      `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"00","name":"X","type":"query","body":"{ me { email } }"}]}`,
		"wrong format":  `{"format":"other","version":1,"operations":[]}`,
		"unknown field": `{"format":"apollo-persisted-query-manifest","version":1,"operations":[],"extra":1}`,
		"empty body":    `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","name":"X","type":"query","body":""}]}`,
	} {
		if _, err := server.ParsePersistedQueries([]byte(m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// ofrepProvider is a minimal OpenFeature provider speaking OFREP, written
// from the protocol's OpenAPI document (service/openapi.yaml of
// open-feature/protocol): it knows nothing of Dezky.
type ofrepProvider struct {
	base, token string
}

func (p ofrepProvider) Metadata() openfeature.Metadata { return openfeature.Metadata{Name: "ofrep"} }
func (p ofrepProvider) Hooks() []openfeature.Hook      { return nil }

func (p ofrepProvider) BooleanEvaluation(ctx context.Context, key string, def bool, fc openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	body, _ := json.Marshal(map[string]any{"context": fc})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/ofrep/v1/evaluate/flags/"+key, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.token)
	fail := func(e openfeature.ResolutionError) openfeature.BoolResolutionDetail {
		return openfeature.BoolResolutionDetail{Value: def, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{ResolutionError: e, Reason: openfeature.ErrorReason}}
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fail(openfeature.NewGeneralResolutionError(err.Error()))
	}
	defer rsp.Body.Close()
	var r struct {
		Value        any
		Reason       string
		Variant      string
		Metadata     map[string]any
		ErrorCode    string
		ErrorDetails string
	}
	if err := json.NewDecoder(rsp.Body).Decode(&r); err != nil {
		return fail(openfeature.NewParseErrorResolutionError(err.Error()))
	}
	switch rsp.StatusCode {
	case http.StatusOK:
		v, ok := r.Value.(bool)
		if !ok {
			return fail(openfeature.NewTypeMismatchResolutionError("not a boolean"))
		}
		return openfeature.BoolResolutionDetail{Value: v, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{
			Reason: openfeature.Reason(r.Reason), Variant: r.Variant, FlagMetadata: openfeature.FlagMetadata(r.Metadata)}}
	case http.StatusNotFound:
		return fail(openfeature.NewFlagNotFoundResolutionError(r.ErrorDetails))
	case http.StatusBadRequest:
		switch r.ErrorCode {
		case "TARGETING_KEY_MISSING":
			return fail(openfeature.NewTargetingKeyMissingResolutionError(r.ErrorDetails))
		case "INVALID_CONTEXT":
			return fail(openfeature.NewInvalidContextResolutionError(r.ErrorDetails))
		case "PARSE_ERROR":
			return fail(openfeature.NewParseErrorResolutionError(r.ErrorDetails))
		}
	}
	return fail(openfeature.NewGeneralResolutionError(fmt.Sprintf("HTTP %d: %s", rsp.StatusCode, r.ErrorDetails)))
}

func (p ofrepProvider) StringEvaluation(_ context.Context, _ string, def string, _ openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	return openfeature.StringResolutionDetail{Value: def, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{ResolutionError: openfeature.NewTypeMismatchResolutionError("boolean flags only"), Reason: openfeature.ErrorReason}}
}

func (p ofrepProvider) FloatEvaluation(_ context.Context, _ string, def float64, _ openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	return openfeature.FloatResolutionDetail{Value: def, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{ResolutionError: openfeature.NewTypeMismatchResolutionError("boolean flags only"), Reason: openfeature.ErrorReason}}
}

func (p ofrepProvider) IntEvaluation(_ context.Context, _ string, def int64, _ openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	return openfeature.IntResolutionDetail{Value: def, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{ResolutionError: openfeature.NewTypeMismatchResolutionError("boolean flags only"), Reason: openfeature.ErrorReason}}
}

func (p ofrepProvider) ObjectEvaluation(_ context.Context, _ string, def any, _ openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	return openfeature.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{ResolutionError: openfeature.NewTypeMismatchResolutionError("boolean flags only"), Reason: openfeature.ErrorReason}}
}

// TestOFREPMatchesEvaluateFlags drives OFREP through the OpenFeature Go SDK
// and gets evaluateFlags' answers, reasons included; bulk evaluation
// answers 304 until a flag changes; errors carry OFREP's codes.
func TestOFREPMatchesEvaluateFlags(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			// One flag of every reason.
			for _, m := range []string{
				`mutation { createFlag(input: {key: "ofrep_rollout", state: ROLLOUT, pct: 100}) { key } }`,
				`mutation { createFlag(input: {key: "ofrep_outside", state: ROLLOUT, pct: 100, scope: {plans: ["ENTERPRISE"]}}) { key } }`,
			} {
				s.Query("operator", m, nil).Decode(t, &struct{}{})
			}
			tok := s.Token("member:acme")
			if err := openfeature.SetNamedProviderAndWait("dezky-"+d, ofrepProvider{base: s.URL, token: tok}); err != nil {
				t.Fatal(err)
			}
			client := openfeature.NewClient("dezky-" + d)
			ctx := context.Background()
			var want struct {
				EvaluateFlags []struct {
					Key     string
					Enabled bool
					Reason  string
				}
			}
			s.Query("member:acme", `{ evaluateFlags(tenantSlug: "acme") { key enabled reason } }`, nil).Decode(t, &want)
			reasons := map[string]bool{}
			for _, f := range want.EvaluateFlags {
				got, err := client.BooleanValueDetails(ctx, f.Key, !f.Enabled, openfeature.NewEvaluationContext("acme", nil))
				if err != nil || got.Value != f.Enabled || string(got.Reason) != f.Reason {
					t.Fatalf("%s: OFREP %v/%s (%v), evaluateFlags %v/%s", f.Key, got.Value, got.Reason, err, f.Enabled, f.Reason)
				}
				if (got.Variant == "on") != f.Enabled || got.FlagMetadata["environment"] != "development" {
					t.Fatalf("%s: variant %q metadata %v", f.Key, got.Variant, got.FlagMetadata)
				}
				reasons[f.Reason] = true
			}
			for _, r := range []string{"STATIC", "DISABLED", "TARGETING_MATCH", "SPLIT", "DEFAULT"} {
				if !reasons[r] {
					t.Errorf("no demo flag evaluated with reason %s: %+v", r, want.EvaluateFlags)
				}
			}

			for name, tc := range map[string]struct {
				key  string
				ec   openfeature.EvaluationContext
				code openfeature.ErrorCode
			}{
				"unknown flag":       {"no_such_flag", openfeature.NewEvaluationContext("acme", nil), openfeature.FlagNotFoundCode},
				"no targeting key":   {"beta_ui", openfeature.NewTargetlessEvaluationContext(nil), openfeature.TargetingKeyMissingCode},
				"plan disagrees":     {"oci_versioning", openfeature.NewEvaluationContext("acme", map[string]any{"plan": "ENTERPRISE"}), openfeature.InvalidContextCode},
				"foreign tenant":     {"oci_versioning", openfeature.NewEvaluationContext("globex", nil), openfeature.GeneralCode},
				"nonexistent tenant": {"oci_versioning", openfeature.NewEvaluationContext("nobody", nil), openfeature.GeneralCode},
			} {
				got, err := client.BooleanValueDetails(ctx, tc.key, true, tc.ec)
				if err == nil || got.ErrorCode != tc.code || !got.Value {
					t.Errorf("%s: code %q value %v err %v; want %s and the default", name, got.ErrorCode, got.Value, err, tc.code)
				}
			}
			// A foreign and a missing tenant answer alike.
			st1, _, b1 := postJSON(t, s, "/ofrep/v1/evaluate/flags/oci_versioning", tok, map[string]any{"context": map[string]any{"targetingKey": "globex"}}, nil)
			st2, _, b2 := postJSON(t, s, "/ofrep/v1/evaluate/flags/oci_versioning", tok, map[string]any{"context": map[string]any{"targetingKey": "nobody"}}, nil)
			if st1 != http.StatusForbidden || st2 != http.StatusForbidden || strings.Replace(string(b1), "globex", "nobody", 1) != string(b2) {
				t.Fatalf("foreign %d %s vs missing %d %s", st1, b1, st2, b2)
			}
			if st, _, _ := postJSON(t, s, "/ofrep/v1/evaluate/flags/beta_ui", "", map[string]any{"context": map[string]any{"targetingKey": "acme"}}, nil); st != http.StatusUnauthorized {
				t.Fatalf("anonymous: HTTP %d", st)
			}

			// Bulk: the same answers, then 304 until something changes.
			bulk := func(etag string) (int, string, map[string]bool) {
				st, h, b := postJSON(t, s, "/ofrep/v1/evaluate/flags", tok, map[string]any{"context": map[string]any{"targetingKey": "acme"}}, map[string]string{"If-None-Match": etag})
				var r struct {
					Flags []struct {
						Key   string
						Value bool
					}
				}
				if st == http.StatusOK {
					if err := json.Unmarshal(b, &r); err != nil {
						t.Fatal(err)
					}
				}
				m := map[string]bool{}
				for _, f := range r.Flags {
					m[f.Key] = f.Value
				}
				return st, h.Get("ETag"), m
			}
			st, etag, all := bulk("")
			if st != http.StatusOK || etag == "" || len(all) != len(want.EvaluateFlags) {
				t.Fatalf("bulk: %d %q %v", st, etag, all)
			}
			for _, f := range want.EvaluateFlags {
				if all[f.Key] != f.Enabled {
					t.Fatalf("bulk %s = %v, want %v", f.Key, all[f.Key], f.Enabled)
				}
			}
			if st, again, _ := bulk(etag); st != http.StatusNotModified || again != etag {
				t.Fatalf("unchanged bulk: %d %q", st, again)
			}
			s.Query("operator", `mutation { killFlag(key: "ofrep_rollout") { key } }`, nil).Decode(t, &struct{}{})
			st, changed, all := bulk(etag)
			if st != http.StatusOK || changed == etag || all["ofrep_rollout"] {
				t.Fatalf("after a kill: %d %q %v", st, changed, all["ofrep_rollout"])
			}
		})
	}
}

// BenchmarkOFREP measures one-flag and bulk OFREP evaluations over HTTP
// against the embedded database, as an OpenFeature provider sends them.
func BenchmarkOFREP(b *testing.B) {
	s := testserver.Start(b, "sqlite3")
	tok := s.Token("member:acme")
	body := []byte(`{"context":{"targetingKey":"acme"}}`)
	for _, path := range []string{"/ofrep/v1/evaluate/flags/gdpr_export_v2", "/ofrep/v1/evaluate/flags"} {
		b.Run(path, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				req, _ := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tok)
				rsp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, rsp.Body)
				rsp.Body.Close()
				if rsp.StatusCode != http.StatusOK {
					b.Fatalf("HTTP %d", rsp.StatusCode)
				}
			}
		})
	}
}
