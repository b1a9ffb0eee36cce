package ocisapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dezky/platform/providers/ocis/ocisapi"
	"github.com/dezky/platform/providers/ocis/ocissim"
	"github.com/dezky/platform/providers/simtest"
)

// fakeIdP rotates the refresh token on every use and rejects reuse.
type fakeIdP struct {
	mu       sync.Mutex
	valid    string
	n        int
	lastForm map[string]string
}

func (f *fakeIdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = r.ParseForm()
	f.lastForm = map[string]string{}
	for k := range r.PostForm {
		f.lastForm[k] = r.PostForm.Get(k)
	}
	w.Header().Set("Content-Type", "application/json")
	if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != f.valid {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"refresh token invalid"}`))
		return
	}
	f.n++
	f.valid = fmt.Sprintf("rt-%d", f.n)
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("at-%d", f.n), "expires_in": 300,
		"refresh_token": f.valid, "token_type": "Bearer"})
}

func TestRefreshTokenSourceRotatesAndCaches(t *testing.T) {
	idp := &fakeIdP{valid: "rt-0"}
	srv := httptest.NewServer(idp)
	defer srv.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rotated []string
	ts, err := ocisapi.NewRefreshTokenSource(srv.URL, "ocis-web", "rt-0",
		ocisapi.WithRotationHook(func(_ context.Context, rt string) error { rotated = append(rotated, rt); return nil }),
		ocisapi.WithTokenClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := ts.Token(ctx)
	if err != nil || tok != "at-1" {
		t.Fatalf("first token %q %v", tok, err)
	}
	if again, _ := ts.Token(ctx); again != "at-1" {
		t.Fatalf("token not cached: %q", again)
	}
	now = now.Add(280 * time.Second) // inside the renewal margin
	if tok, err := ts.Token(ctx); err != nil || tok != "at-2" {
		t.Fatalf("renewal with rotated refresh token: %q %v", tok, err)
	}
	if len(rotated) != 2 || rotated[1] != "rt-2" || idp.lastForm["client_id"] != "ocis-web" {
		t.Fatalf("rotation hook %v, form %v", rotated, idp.lastForm)
	}

	// A token source holding a stale refresh token fails without leaking it.
	stale, _ := ocisapi.NewRefreshTokenSource(srv.URL, "ocis-web", "rt-0-secret-value")
	_, err = stale.Token(ctx)
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") || strings.Contains(err.Error(), "rt-0-secret-value") {
		t.Fatalf("stale refresh token: %v", err)
	}
}

func TestClientWithRefreshTokenSource(t *testing.T) {
	idp := &fakeIdP{valid: "rt-0"}
	idpSrv := httptest.NewServer(idp)
	defer idpSrv.Close()
	_, srv := simtest.NewOCIS(t, ocissim.Options{Token: "at-1"})
	ts, _ := ocisapi.NewRefreshTokenSource(idpSrv.URL, "ocis-web", "rt-0")
	c, _ := ocisapi.New(srv.URL, ts)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
