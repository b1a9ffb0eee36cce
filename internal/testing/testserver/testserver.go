// Package testserver runs the real dezky server (app.Start) on a loopback
// port over a fresh test database seeded with the demo data, and talks
// GraphQL to it over HTTP with tokens minted by the embedded development
// issuer, so tests exercise the production validation path end to end.
package testserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/testdb"
)

// Server is a running test server.
type Server struct {
	*app.Server
	tb testing.TB
}

// Start starts a server on a fresh database of the given dialect.
func Start(tb testing.TB, dialect string) *Server {
	tb.Helper()
	return StartWith(tb, dialect, nil)
}

// StartWith is Start with a chance to adjust the configuration first.
func StartWith(tb testing.TB, dialect string, configure func(*app.ServeConfig)) *Server {
	tb.Helper()
	cfg := app.ServeConfig{
		Addr: "127.0.0.1:0", DataDir: tb.TempDir(), DatabaseURL: testdb.URL(tb, dialect), Demo: true,
		Log: logger(),
	}
	if configure != nil {
		configure(&cfg)
	}
	seedDevIssuerKey(tb, cfg.DataDir)
	s, err := app.Start(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("start server: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close server: %v", err)
		}
	})
	ts := &Server{Server: s, tb: tb}
	// Let the demo tenants' provisioning jobs finish, so tests start from a
	// database nothing in the background is still changing.
	ts.WaitProvisioned()
	return ts
}

// devIssuerKey is the development issuer's RSA key, PEM-encoded, shared by
// every server of a test binary.
var devIssuerKey = sync.OnceValues(func() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
})

// seedDevIssuerKey stores the shared development issuer key where the
// server looks for it (dev-oidc/key.pem in the data dir), unless one is
// there: without it every start generates a 2048-bit RSA key, a large part
// of a test's time. Each server still has its own issuer URL, so tokens of
// one server are not valid at another.
func seedDevIssuerKey(tb testing.TB, dataDir string) {
	tb.Helper()
	path := filepath.Join(dataDir, "dev-oidc", "key.pem")
	if _, err := os.Stat(path); err == nil {
		return
	}
	pemKey, err := devIssuerKey()
	if err != nil {
		tb.Fatalf("generate development issuer key: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, pemKey, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// WaitProvisioned waits until the start-up work is done (jobs.Engine
// Settled: the periodic jobs that run at start have run, no job of any kind
// is queued or running): after it, nothing changes the database in the
// background until the next change that enqueues work (creating or
// changing a tenant or member, reconcile) or the next period.
func (s *Server) WaitProvisioned() {
	s.tb.Helper()
	start := time.Now()
	for {
		ctx := context.Background()
		done, err := s.Jobs.Settled(ctx)
		if err != nil {
			s.tb.Fatalf("job queue: %v", err)
		}
		if done {
			return
		}
		n, err := s.Jobs.Unfinished(ctx)
		if err != nil {
			s.tb.Fatalf("job queue: %v", err)
		}
		// The start-up periodic jobs are inserted by whichever replica
		// river elects leader; when that takes long, settle for an idle
		// queue rather than wait on the election.
		if n == 0 && time.Since(start) > 10*time.Second {
			return
		}
		if time.Since(start) > time.Minute {
			s.tb.Fatalf("%d background jobs still unfinished after a minute", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Wrap gives the request helpers to a server started some other way (for
// example a second replica on the same database).
func Wrap(tb testing.TB, s *app.Server) *Server { return &Server{Server: s, tb: tb} }

// Token mints a token for a demo role spec (see app.MintFor).
func (s *Server) Token(as string) string {
	s.tb.Helper()
	tok, err := app.MintFor(context.Background(), s.DB.Client, s.DevIssuer, as, time.Hour)
	if err != nil {
		s.tb.Fatalf("mint token for %s: %v", as, err)
	}
	return tok
}

// Response is a GraphQL response.
type Response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
	Body   []byte          `json:"-"`
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns the first error's extensions.code, or "".
func (r *Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// Decode unmarshals data into v, failing the test on GraphQL errors.
func (r *Response) Decode(tb testing.TB, v any) {
	tb.Helper()
	if len(r.Errors) > 0 {
		tb.Fatalf("unexpected GraphQL errors: %s", r.Body)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		tb.Fatalf("decode data %s: %v", r.Data, err)
	}
}

// Request is a GraphQL request with optional headers.
type Request struct {
	Query     string
	Variables map[string]any
	// Token is sent as a bearer token when set.
	Token   string
	Headers map[string]string
}

// Do sends a request.
func (s *Server) Do(req Request) *Response {
	s.tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": req.Query, "variables": req.Variables})
	hr, err := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(body))
	if err != nil {
		s.tb.Fatal(err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	rsp, err := http.DefaultClient.Do(hr)
	if err != nil {
		s.tb.Fatalf("POST /query: %v", err)
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	if err != nil {
		s.tb.Fatal(err)
	}
	out := &Response{Status: rsp.StatusCode, Body: b}
	if err := json.Unmarshal(b, out); err != nil {
		s.tb.Fatalf("decode response (HTTP %d) %s: %v", rsp.StatusCode, b, err)
	}
	return out
}

// Query sends query as the demo role as (empty: anonymous).
func (s *Server) Query(as, query string, vars map[string]any) *Response {
	s.tb.Helper()
	req := Request{Query: query, Variables: vars}
	if as != "" {
		req.Token = s.Token(as)
	}
	return s.Do(req)
}

// logger discards the server log unless DEZKY_TEST_LOG=1, which sends it to
// stderr for debugging a failing test.
func logger() *slog.Logger {
	if os.Getenv("DEZKY_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
