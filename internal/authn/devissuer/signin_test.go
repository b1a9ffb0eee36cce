package devissuer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/dezky/platform/internal/authn/devissuer"
)

// staticDirectory is a fixed set of personas.
type staticDirectory map[string]devissuer.Persona

func (d staticDirectory) Personas(context.Context) ([]devissuer.Persona, error) {
	var out []devissuer.Persona
	for _, p := range d {
		out = append(out, p)
	}
	return out, nil
}

func (d staticDirectory) Claims(_ context.Context, as string) (devissuer.MintClaims, devissuer.Persona, error) {
	p, ok := d[as]
	if !ok {
		return devissuer.MintClaims{}, devissuer.Persona{}, fmt.Errorf("%w: %s", devissuer.ErrUnknownPersona, as)
	}
	return devissuer.MintClaims{Subject: "sub-" + as, Email: p.Email, Audience: []string{"dezky-portal"}}, p, nil
}

func signInRequest(method, body, contentType, remote, origin string) *http.Request {
	r := httptest.NewRequest(method, "http://127.0.0.1:8080/dev/oidc/signin", strings.NewReader(body))
	r.RemoteAddr = remote
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	return r
}

// TestSignInHandler: loopback clients list the personas and get a token
// signed by the issuer for one; other peers, cross-origin and non-JSON
// posts, malformed bodies and unknown personas get nothing.
func TestSignInHandler(t *testing.T) {
	iss, err := devissuer.LoadOrCreate(filepath.Join(t.TempDir(), "key.pem"), "http://127.0.0.1:8080/dev/oidc")
	if err != nil {
		t.Fatal(err)
	}
	dir := staticDirectory{"member:acme": {As: "member:acme", Label: "Member of acme", Email: "member@acme.example"}}
	h := iss.SignInHandler(dir, nil)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, signInRequest(http.MethodGet, "", "", "127.0.0.1:5555", ""))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"as":"member:acme"`) {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}

	w = httptest.NewRecorder()
	h.ServeHTTP(w, signInRequest(http.MethodPost, `{"as":"member:acme"}`, "application/json", "[::1]:5555", "http://127.0.0.1:8080"))
	if w.Code != http.StatusOK {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	var out struct {
		AccessToken string
		ExpiresIn   int
		Email       string
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(out.AccessToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	var jwks jose.JSONWebKeySet
	kw := httptest.NewRecorder()
	iss.Handler().ServeHTTP(kw, httptest.NewRequest(http.MethodGet, "/jwks", nil))
	if err := json.Unmarshal(kw.Body.Bytes(), &jwks); err != nil {
		t.Fatal(err)
	}
	payload, err := jws.Verify(jwks.Keys[0].Key)
	if err != nil {
		t.Fatalf("token does not verify with the issuer's key: %v", err)
	}
	var claims struct {
		Sub, Email string
		Exp, Iat   int64
	}
	_ = json.Unmarshal(payload, &claims)
	if claims.Sub != "sub-member:acme" || claims.Email != "member@acme.example" || claims.Exp-claims.Iat != int64(devissuer.SignInTTL.Seconds()) ||
		out.ExpiresIn != int(devissuer.SignInTTL.Seconds()) || out.Email != "member@acme.example" {
		t.Fatalf("claims %+v, response %+v", claims, out)
	}

	refused := []struct {
		name string
		req  *http.Request
		code int
	}{
		{"remote peer lists", signInRequest(http.MethodGet, "", "", "203.0.113.7:5555", ""), http.StatusForbidden},
		{"remote peer signs in", signInRequest(http.MethodPost, `{"as":"member:acme"}`, "application/json", "203.0.113.7:5555", ""), http.StatusForbidden},
		{"cross-origin", signInRequest(http.MethodPost, `{"as":"member:acme"}`, "application/json", "127.0.0.1:5555", "http://evil.example"), http.StatusForbidden},
		{"form post", signInRequest(http.MethodPost, `as=member:acme`, "application/x-www-form-urlencoded", "127.0.0.1:5555", ""), http.StatusUnsupportedMediaType},
		{"text post", signInRequest(http.MethodPost, `{"as":"member:acme"}`, "text/plain", "127.0.0.1:5555", ""), http.StatusUnsupportedMediaType},
		{"malformed", signInRequest(http.MethodPost, `{"as":`, "application/json", "127.0.0.1:5555", ""), http.StatusBadRequest},
		{"unknown field", signInRequest(http.MethodPost, `{"as":"member:acme","ttl":"999h"}`, "application/json", "127.0.0.1:5555", ""), http.StatusBadRequest},
		{"unknown persona", signInRequest(http.MethodPost, `{"as":"operator"}`, "application/json", "127.0.0.1:5555", ""), http.StatusNotFound},
		{"other method", signInRequest(http.MethodDelete, "", "", "127.0.0.1:5555", ""), http.StatusMethodNotAllowed},
	}
	for _, c := range refused {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, c.req)
		if w.Code != c.code || strings.Contains(w.Body.String(), "accessToken") {
			t.Errorf("%s: %d %s, want %d without a token", c.name, w.Code, w.Body, c.code)
		}
	}
}
