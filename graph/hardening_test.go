package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rawResponse is the status and first error code of a raw request.
type rawResponse struct {
	status int
	code   string
	body   string
}

// rawPost sends body to /query with the given method and content type.
func rawPost(t *testing.T, url, method, contentType, token string, body []byte) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, url+"/query", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	var out struct {
		Errors []struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(b, &out)
	r := rawResponse{status: rsp.StatusCode, body: string(b)}
	if len(out.Errors) > 0 {
		r.code, _ = out.Errors[0].Extensions["code"].(string)
	}
	return r
}

func gqlBody(query string) []byte {
	b, _ := json.Marshal(map[string]any{"query": query})
	return b
}

// hostileDocuments are documents whose cost before validation grows
// faster than their size; each must be refused by the pre-parse budget.
func hostileDocuments() map[string]string {
	spreads := "query { ...F " + strings.Repeat("...F ", 100000) + "} fragment F on Query { me { email } }"
	inline := "query { " + strings.Repeat("... on Query { __typename } ", 30000) + "}"
	aliases := "query { " + strings.Repeat("a: __typename ", 60000) + "}"
	nested := "query { " + strings.Repeat("me { ", 5000) + strings.Repeat("} ", 5000) + "}"
	lists := "query { tenants(where: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + ") { totalCount } }"
	fragments := "query { ...F0 }"
	for i := 0; i < 3000; i++ {
		fragments += " fragment F" + itoa(i) + " on Query { ...F" + itoa(i+1) + " ...F" + itoa(i+1) + " }"
	}
	directives := "query { __typename " + strings.Repeat("@include(if: true) ", 20000) + "}"
	return map[string]string{
		"100k fragment spreads": spreads, "inline fragments": inline, "aliases": aliases,
		"nested selections": nested, "nested lists": lists, "fragment fan-out": fragments, "directives": directives,
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestRequestCostBounded: over-size bodies answer 413 with a code, and
// hostile documents of every shape are refused by the pre-parse budget,
// anonymously and signed in, with COMPLEXITY_LIMIT_EXCEEDED or
// DEPTH_LIMIT_EXCEEDED.
func TestRequestCostBounded(t *testing.T) {
	s := testserver.Start(t, testdb.Dialects[0])
	tok := s.Token("operator")
	for name, doc := range hostileDocuments() {
		for _, who := range []string{"anonymous", "operator"} {
			t.Run(name+"/"+who, func(t *testing.T) {
				token := ""
				if who == "operator" {
					token = tok
				}
				r := rawPost(t, s.URL, http.MethodPost, "application/json", token, gqlBody(doc))
				if r.status != http.StatusBadRequest || (r.code != "COMPLEXITY_LIMIT_EXCEEDED" && r.code != "DEPTH_LIMIT_EXCEEDED") {
					t.Fatalf("HTTP %d code %q, want 400 COMPLEXITY_LIMIT_EXCEEDED or DEPTH_LIMIT_EXCEEDED: %.300s", r.status, r.code, r.body)
				}
			})
		}
	}
	for _, size := range []int{1<<20 + 1, 5 << 20, 50 << 20} {
		body := gqlBody("{ __typename }" + strings.Repeat(" ", size))
		for _, token := range []string{"", tok} {
			if r := rawPost(t, s.URL, http.MethodPost, "application/json", token, body); r.status != http.StatusRequestEntityTooLarge || r.code != "REQUEST_TOO_LARGE" {
				t.Fatalf("%d-byte body: HTTP %d code %q, want 413 REQUEST_TOO_LARGE", size, r.status, r.code)
			}
		}
	}
	// A request within the limits still works.
	if r := rawPost(t, s.URL, http.MethodPost, "application/json", tok, gqlBody("{ me { email } }")); r.status != 200 || r.code != "" {
		t.Fatalf("ordinary request: HTTP %d %s", r.status, r.body)
	}
}

// TestMaxBodyBytesFlag: the body limit is configurable.
func TestMaxBodyBytesFlag(t *testing.T) {
	s := testserver.StartWith(t, testdb.Dialects[0], func(c *app.ServeConfig) { c.Guards.MaxBodyBytes = 4096 })
	body := gqlBody("{ __typename }" + strings.Repeat(" ", 5000))
	if r := rawPost(t, s.URL, http.MethodPost, "application/json", s.Token("operator"), body); r.status != 413 || r.code != "REQUEST_TOO_LARGE" {
		t.Fatalf("HTTP %d code %q, want 413 REQUEST_TOO_LARGE", r.status, r.code)
	}
	if r := rawPost(t, s.URL, http.MethodPost, "application/json", s.Token("operator"), gqlBody("{ __typename }")); r.status != 200 {
		t.Fatalf("small body: HTTP %d %s", r.status, r.body)
	}
}

// TestEveryErrorHasACode: transport-level mistakes answer a stable code,
// no resolver panic is logged, and neither the body nor the token reaches
// the log.
func TestEveryErrorHasACode(t *testing.T) {
	logs := &syncBuffer{}
	s := testserver.StartWith(t, testdb.Dialects[0], func(c *app.ServeConfig) {
		c.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	tok := s.Token("operator")
	const secret = "s3cr3t-marker"
	for _, tc := range []struct {
		name, method, contentType string
		body                      string
		status                    int
		code                      string
	}{
		{"batch", "POST", "application/json", `[{"query":"{ me { email } }"},{"query":"{ __typename }","variables":{"x":"` + secret + `"}}]`, 400, "BATCHING_NOT_SUPPORTED"},
		{"empty batch", "POST", "application/json", `[]`, 400, "BATCHING_NOT_SUPPORTED"},
		{"malformed json", "POST", "application/json", `{"query": "` + secret, 400, "BAD_REQUEST"},
		{"json string", "POST", "application/json", `"` + secret + `"`, 400, "BAD_REQUEST"},
		{"two objects", "POST", "application/json", `{"query":"{ __typename }"} {"query":"` + secret + `"}`, 400, "BAD_REQUEST"},
		{"query not a string", "POST", "application/json", `{"query": 42, "secret": "` + secret + `"}`, 400, "BAD_REQUEST"},
		{"text/plain", "POST", "text/plain", `{"query":"{ __typename }"}`, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"form", "POST", "application/x-www-form-urlencoded", `query=` + secret, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"no content type", "POST", "", `{"query":"{ __typename }"}`, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"PUT", "PUT", "application/json", `{"query":"{ __typename }"}`, 405, "METHOD_NOT_ALLOWED"},
		{"DELETE", "DELETE", "", ``, 405, "METHOD_NOT_ALLOWED"},
		{"PATCH", "PATCH", "application/json", `{}`, 405, "METHOD_NOT_ALLOWED"},
	} {
		for _, token := range []string{"", tok} {
			r := rawPost(t, s.URL, tc.method, tc.contentType, token, []byte(tc.body))
			if r.status != tc.status || r.code != tc.code {
				t.Errorf("%s: HTTP %d code %q, want %d %s: %s", tc.name, r.status, r.code, tc.status, tc.code, r.body)
			}
		}
	}
	// The depth limit answers one code at every depth.
	for _, levels := range []int{4, 5, 8, 15, 16, 17, 30, 300} { // 4 levels each
		q := "{ " + strings.Repeat("tenants(first: 1) { edges { node { partner { ", levels) + "id" + strings.Repeat(" } } } }", levels) + " }"
		depth := 4 * levels
		if r := rawPost(t, s.URL, "POST", "application/json", tok, gqlBody(q)); r.code != "DEPTH_LIMIT_EXCEEDED" {
			t.Errorf("depth ~%d: code %q, want DEPTH_LIMIT_EXCEEDED: %.300s", depth, r.code, r.body)
		}
	}
	// An invalid pagination cursor is the caller's mistake, named.
	for _, arg := range []string{"after", "before"} {
		for _, cursor := range []string{"not-a-cursor", "", "gaFpzQ", "eyJ4Ijox"} {
			q := `{ tenants(first: 1, ` + arg + `: "` + cursor + `") { totalCount } }`
			if arg == "before" {
				q = `{ tenants(last: 1, before: "` + cursor + `") { totalCount } }`
			}
			var rsp = s.Do(testserver.Request{Token: tok, Query: q})
			if rsp.Code() != "BAD_USER_INPUT" || !strings.Contains(rsp.Errors[0].Message, arg) {
				t.Errorf("%s cursor %q: code %q, want BAD_USER_INPUT naming %s: %s", arg, cursor, rsp.Code(), arg, rsp.Body)
			}
		}
	}
	out := logs.String()
	for _, bad := range []string{"resolver panic", secret, tok} {
		if strings.Contains(out, bad) {
			t.Errorf("server log contains %.40q", bad)
		}
	}
}

// TestIntrospectionNeedsSignIn: signed-in callers may introspect,
// anonymous callers may not, and the flag turns it off for everyone.
func TestIntrospectionNeedsSignIn(t *testing.T) {
	s := testserver.Start(t, testdb.Dialects[0])
	for _, q := range []string{`{ __schema { queryType { name } } }`, `{ __type(name: "Tenant") { name } }`, `query { a: __schema { types { name } } }`} {
		if rsp := s.Do(testserver.Request{Query: q}); rsp.Code() != "UNAUTHENTICATED" {
			t.Fatalf("anonymous %s: code %q, want UNAUTHENTICATED: %s", q, rsp.Code(), rsp.Body)
		}
		for _, role := range []string{"operator", "member:acme", "partner:northwind"} {
			if rsp := s.Query(role, q, nil); len(rsp.Errors) > 0 {
				t.Fatalf("%s %s: %s", role, q, rsp.Body)
			}
		}
	}
	if rsp := s.Do(testserver.Request{Query: `{ __typename }`}); len(rsp.Errors) > 0 {
		t.Fatalf("anonymous __typename: %s", rsp.Body)
	}
	off := testserver.StartWith(t, testdb.Dialects[0], func(c *app.ServeConfig) { c.Guards.DisableIntrospection = true })
	for _, role := range []string{"", "operator", "admin:acme"} {
		want := "FORBIDDEN"
		if role == "" {
			want = "UNAUTHENTICATED"
		}
		if rsp := off.Query(role, `{ __schema { queryType { name } } }`, nil); rsp.Code() != want && rsp.Code() != "FORBIDDEN" {
			t.Fatalf("introspection off, %q: code %q, want %s", role, rsp.Code(), want)
		}
	}
}

// TestWebSocketDocumentsBudgeted: hostile documents sent over a WebSocket
// are refused by the same budget, with a code.
func TestWebSocketDocumentsBudgeted(t *testing.T) {
	s := testserver.Start(t, testdb.Dialects[0])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, doc := range hostileDocuments() {
		if len(doc) > 1<<20-1024 {
			continue
		}
		c := wsSubscribe(t, ctx, s.URL, s.Token("operator"), strings.Replace(doc, "query", "subscription", 1))
		var msg struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := wsjson.Read(ctx, c, &msg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if (msg.Type != "error" && msg.Type != "next") || (!strings.Contains(string(msg.Payload), "COMPLEXITY_LIMIT_EXCEEDED") && !strings.Contains(string(msg.Payload), "DEPTH_LIMIT_EXCEEDED")) {
			t.Fatalf("%s: %s %.300s", name, msg.Type, msg.Payload)
		}
	}
}
