package authn_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/dezky/platform/internal/authn"
	"github.com/dezky/platform/internal/authn/devissuer"
)

func TestVerifyAcceptsEachIssuerAndAudience(t *testing.T) {
	e := newTestEnv(t)
	v := e.verifier(t, nil)

	for _, iss := range []*devissuer.Issuer{e.primary, e.secondary} {
		for _, aud := range []string{audPortal, audOperator} {
			t.Run(iss.URL()+"|"+aud, func(t *testing.T) {
				tok := mint(t, iss, devissuer.MintClaims{
					Subject:  "user-42",
					Email:    "ada@example.com",
					Name:     "Ada Lovelace",
					Audience: []string{aud},
					TTL:      30 * time.Minute,
				})
				c, err := v.Verify(context.Background(), tok)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Issuer != iss.URL() || c.Subject != "user-42" || c.Email != "ada@example.com" || c.Name != "Ada Lovelace" {
					t.Errorf("claims = %+v", c)
				}
				if !slices.Equal(c.Audience, []string{aud}) || !c.HasAudience(aud) {
					t.Errorf("audience = %q, HasAudience(%q) = %v", c.Audience, aud, c.HasAudience(aud))
				}
				if got := c.Expiry.Sub(c.IssuedAt); got != 30*time.Minute {
					t.Errorf("exp - iat = %s, want 30m", got)
				}
			})
		}
	}
}

func TestVerifyAcceptsWhenAnyAudienceMatches(t *testing.T) {
	e := newTestEnv(t)
	v := e.verifier(t, nil)
	tok := mint(t, e.primary, devissuer.MintClaims{Audience: []string{"someone-else", audOperator}})
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !c.HasAudience(audOperator) || !c.HasAudience("someone-else") || c.HasAudience(audPortal) {
		t.Errorf("audience = %q", c.Audience)
	}
}

func TestVerifyAcceptsSingleStringAudienceAndNoNbf(t *testing.T) {
	// Authentik access tokens carry "aud" as a string and no "nbf".
	e := newTestEnv(t)
	v := e.verifier(t, nil)
	tok := e.signCustom(t, jose.RS256, e.customClaims(time.Now()))
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Subject != "custom-user" || !slices.Equal(c.Audience, []string{audOperator}) {
		t.Errorf("claims = %+v", c)
	}
}

func TestVerifyAcceptsES256AndEdDSA(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		key crypto.Signer
		alg string
	}{
		"ES256": {ecKey, oidc.ES256},
		"EdDSA": {edKey, oidc.EdDSA},
	} {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t)
			file := filepath.Join(t.TempDir(), "key.pem")
			writeKey(t, file, tc.key)
			iss := e.mount(t, file, "/"+strings.ToLower(name)+"/", &gate{})
			if iss.Algorithm() != tc.alg {
				t.Fatalf("Algorithm = %s, want %s", iss.Algorithm(), tc.alg)
			}
			cfg := e.config(nil)
			cfg.Issuers = []string{iss.URL()}
			v, err := authn.NewVerifier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(context.Background(), mint(t, iss, devissuer.MintClaims{Subject: "s"}))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Issuer != iss.URL() || c.Subject != "s" {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

// rejectCase is a token that must be refused, and the reason it must be
// refused with.
type rejectCase struct {
	name   string
	token  string
	reason string
}

func TestVerifyRejects(t *testing.T) {
	e := newTestEnv(t)
	now := time.Now()
	valid := mint(t, e.primary, devissuer.MintClaims{})

	header, payload, sig := splitJWT(t, valid)
	var claims map[string]any
	decodeSeg(t, payload, &claims)

	tampered := func(mutate func(map[string]any)) string {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		mutate(c)
		return header + "." + encodeSeg(t, c) + "." + sig
	}
	flippedSig := []byte(sig)
	if flippedSig[5] == 'A' {
		flippedSig[5] = 'B'
	} else {
		flippedSig[5] = 'A'
	}

	noneHeader := encodeSeg(t, map[string]any{"alg": "none", "typ": "JWT"})
	hsHeader := encodeSeg(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": e.primary.KeyID()})
	esHeader := encodeSeg(t, map[string]any{"alg": "ES256", "typ": "JWT", "kid": e.primary.KeyID()})

	custom := func(mutate func(map[string]any)) string {
		c := e.customClaims(now)
		mutate(c)
		return e.signCustom(t, jose.RS256, c)
	}

	cases := []rejectCase{
		{"wrong audience", mint(t, e.primary, devissuer.MintClaims{Audience: []string{"another-app"}}), "audience not accepted"},
		{"unconfigured issuer", mint(t, e.stranger, devissuer.MintClaims{}), "unknown issuer"},
		{"configured issuer claimed, other key", mint(t, e.impostor, devissuer.MintClaims{}), "invalid token"},
		{"tampered payload", tampered(func(c map[string]any) { c["sub"] = "admin" }), "invalid token"},
		{"tampered audience", tampered(func(c map[string]any) { c["aud"] = []string{audOperator} }), "invalid token"},
		{"issuer swapped to another configured issuer", tampered(func(c map[string]any) { c["iss"] = e.secondary.URL() }), "invalid token"},
		{"tampered signature", header + "." + payload + "." + string(flippedSig), "invalid token"},
		{"signature removed", header + "." + payload + ".", "malformed token"},
		{"alg none", noneHeader + "." + payload + ".", "unsupported signing algorithm"},
		{"alg none with signature", noneHeader + "." + payload + "." + sig, "unsupported signing algorithm"},
		{"alg HS256", hsHeader + "." + payload + "." + sig, "unsupported signing algorithm"},
		{"alg not advertised by issuer", esHeader + "." + payload + "." + sig, "invalid token"},
		{"iat in the future", custom(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }), "token not yet valid"},
		{"no exp", custom(func(c map[string]any) { delete(c, "exp") }), "token has no expiry"},
		{"no sub", custom(func(c map[string]any) { delete(c, "sub") }), "missing subject"},
		{"no aud", custom(func(c map[string]any) { delete(c, "aud") }), "audience not accepted"},
		{"email not a string", custom(func(c map[string]any) { c["email"] = 7 }), "invalid claims"},
		{"empty", "", "missing token"},
		{"one segment", "abc", "malformed token"},
		{"two segments", "abc.def", "malformed token"},
		{"four segments", valid + ".x", "malformed token"},
		{"five segments (JWE shape)", "a.b.c.d.e", "malformed token"},
		{"dots only", "..", "malformed token"},
		{"not base64", "%%%.%%%.%%%", "malformed token"},
		{"padded base64", header + "=." + payload + "." + sig, "malformed token"},
		{"header not JSON", encodeRaw("hello") + "." + payload + "." + sig, "malformed token"},
		{"header JSON array", encodeRaw(`["RS256"]`) + "." + payload + "." + sig, "malformed token"},
		{"payload not JSON", header + "." + encodeRaw("{not json") + "." + sig, "malformed token"},
		{"iss not a string", header + "." + encodeRaw(`{"iss":1}`) + "." + sig, "malformed token"},
		{"no iss", header + "." + encodeRaw(`{"sub":"x"}`) + "." + sig, "malformed token"},
		{"JSON serialization", `{"payload":"` + payload + `","protected":"` + header + `","signature":"` + sig + `"}`, "malformed token"},
		{"whitespace inside", header + ". " + payload + "." + sig, "malformed token"},
		{"bearer prefix left on", "Bearer " + valid, "malformed token"},
		{"huge", strings.Repeat("a", 1<<20), "token too large"},
	}

	v := e.verifier(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertRejected(t, v, tc)
		})
	}

	t.Run("expired", func(t *testing.T) {
		clk := newClock()
		v := e.verifier(t, clk.Now)
		tok := mint(t, e.primary, devissuer.MintClaims{TTL: time.Minute})
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("fresh token rejected: %v", err)
		}
		clk.Advance(2 * time.Minute)
		assertRejected(t, v, rejectCase{"expired", tok, "token expired"})
		_, err := v.Verify(context.Background(), tok)
		var expired *oidc.TokenExpiredError
		if !errors.As(err, &expired) {
			t.Errorf("cause %v is not an *oidc.TokenExpiredError", err)
		}
	})

	t.Run("not yet valid", func(t *testing.T) {
		clk := newClock()
		clk.Advance(-time.Hour)
		v := e.verifier(t, clk.Now)
		tok := mint(t, e.secondary, devissuer.MintClaims{TTL: 3 * time.Hour})
		assertRejected(t, v, rejectCase{"nbf in the future", tok, "invalid token"})
	})

	t.Run("unconfigured issuer is never contacted", func(t *testing.T) {
		if n := e.strangerGate.discoveryHits.Load() + e.strangerGate.jwksHits.Load(); n != 0 {
			t.Errorf("unconfigured issuer received %d requests", n)
		}
	})
}

func assertRejected(t *testing.T, v *authn.Verifier, tc rejectCase) {
	t.Helper()
	c, err := v.Verify(context.Background(), tc.token)
	if err == nil {
		t.Fatalf("accepted, claims %+v", c)
	}
	if c != nil {
		t.Errorf("claims returned with error: %+v", c)
	}
	if !errors.Is(err, authn.ErrUnauthenticated) {
		t.Errorf("error %v does not wrap ErrUnauthenticated", err)
	}
	if want := "unauthenticated: " + tc.reason; err.Error() != want {
		t.Errorf("error = %q, want %q", err.Error(), want)
	}
	if len(tc.token) >= 8 && strings.Contains(err.Error(), tc.token) {
		t.Errorf("error text echoes the token")
	}
}

func TestNoNetworkAtConstruction(t *testing.T) {
	e := newTestEnv(t)
	if _, err := authn.NewVerifier(e.config(nil)); err != nil {
		t.Fatal(err)
	}
	if n := e.primaryGate.discoveryHits.Load() + e.secondaryGate.discoveryHits.Load(); n != 0 {
		t.Errorf("NewVerifier made %d discovery requests", n)
	}
}

func TestDiscoveryIsLazyPerIssuerAndShared(t *testing.T) {
	e := newTestEnv(t)
	v := e.verifier(t, nil)
	tok := mint(t, e.primary, devissuer.MintClaims{})

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Verify: %v", err)
	}
	if n := e.primaryGate.discoveryHits.Load(); n != 1 {
		t.Errorf("primary discovery requests = %d, want 1", n)
	}
	if n := e.secondaryGate.discoveryHits.Load(); n != 0 {
		t.Errorf("secondary issuer discovered (%d requests) without a token naming it", n)
	}

	if _, err := v.Verify(context.Background(), mint(t, e.secondary, devissuer.MintClaims{})); err != nil {
		t.Fatalf("Verify secondary: %v", err)
	}
	if n := e.secondaryGate.discoveryHits.Load(); n != 1 {
		t.Errorf("secondary discovery requests = %d, want 1", n)
	}
}

func TestDiscoveryRetriedAfterFailure(t *testing.T) {
	e := newTestEnv(t)
	clk := newClock()
	v := e.verifier(t, clk.Now)
	tok := mint(t, e.primary, devissuer.MintClaims{})

	e.primaryGate.failing.Store(true)
	_, err := v.Verify(context.Background(), tok)
	if !errors.Is(err, authn.ErrUnauthenticated) || !errors.Is(err, authn.ErrIssuerUnavailable) {
		t.Fatalf("error = %v, want ErrUnauthenticated and ErrIssuerUnavailable", err)
	}
	if err.Error() != "unauthenticated: issuer unavailable" {
		t.Errorf("error text = %q", err.Error())
	}

	// The issuer recovers. Within the back-off window the failure is
	// reported without another request...
	e.primaryGate.failing.Store(false)
	_, err = v.Verify(context.Background(), tok)
	if !errors.Is(err, authn.ErrIssuerUnavailable) {
		t.Fatalf("within back-off: error = %v, want ErrIssuerUnavailable", err)
	}
	if n := e.primaryGate.discoveryHits.Load(); n != 1 {
		t.Errorf("discovery requests within back-off = %d, want 1", n)
	}

	// ...and after it discovery is attempted again and succeeds.
	clk.Advance(time.Minute)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("after back-off: %v", err)
	}
	if n := e.primaryGate.discoveryHits.Load(); n != 2 {
		t.Errorf("discovery requests = %d, want 2", n)
	}
	// Success is cached.
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("cached: %v", err)
	}
	if n := e.primaryGate.discoveryHits.Load(); n != 2 {
		t.Errorf("discovery requests after success = %d, want 2", n)
	}
}

func TestDiscoveryMismatchedIssuerIsUnavailable(t *testing.T) {
	// Configuring the issuer without its trailing slash makes the
	// discovery document's issuer differ; go-oidc refuses it.
	e := newTestEnv(t)
	cfg := e.config(nil)
	cfg.Issuers = []string{strings.TrimSuffix(e.primary.URL(), "/")}
	v, err := authn.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok := e.signCustom(t, jose.RS256, map[string]any{
		"iss": cfg.Issuers[0], "sub": "x", "aud": audPortal,
		"exp": time.Now().Add(time.Hour).Unix(),
	})
	_, err = v.Verify(context.Background(), tok)
	var mismatch *oidc.IssuerMismatchError
	if !errors.Is(err, authn.ErrIssuerUnavailable) || !errors.As(err, &mismatch) {
		t.Fatalf("error = %v, want ErrIssuerUnavailable caused by IssuerMismatchError", err)
	}
}

func TestVerifyCanceledWhileDiscovering(t *testing.T) {
	e := newTestEnv(t)
	v := e.verifier(t, nil)
	tok := mint(t, e.primary, devissuer.MintClaims{})

	hold := make(chan struct{})
	e.primaryGate.mu.Lock()
	e.primaryGate.hold = hold
	e.primaryGate.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.Verify(ctx, tok)
	if !errors.Is(err, authn.ErrUnauthenticated) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want ErrUnauthenticated and context.Canceled", err)
	}
	if errors.Is(err, authn.ErrIssuerUnavailable) {
		t.Errorf("a canceled request must not be reported as issuer unavailable")
	}

	// The discovery started by the canceled request is not tied to its
	// context: once the issuer answers, later requests use its result.
	close(hold)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify after cancel: %v", err)
	}
	if n := e.primaryGate.discoveryHits.Load(); n != 1 {
		t.Errorf("discovery requests = %d, want 1", n)
	}
}

func TestNewVerifierValidatesConfig(t *testing.T) {
	ok := authn.Config{Issuers: []string{"https://id.example.com/application/o/app/"}, Audiences: []string{"app"}}
	if _, err := authn.NewVerifier(ok); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for name, mutate := range map[string]func(*authn.Config){
		"no issuers":        func(c *authn.Config) { c.Issuers = nil },
		"no audiences":      func(c *authn.Config) { c.Audiences = nil },
		"empty audience":    func(c *authn.Config) { c.Audiences = []string{"app", ""} },
		"relative issuer":   func(c *authn.Config) { c.Issuers = []string{"/application/o/app/"} },
		"empty issuer":      func(c *authn.Config) { c.Issuers = []string{""} },
		"ftp issuer":        func(c *authn.Config) { c.Issuers = []string{"ftp://id.example.com/"} },
		"issuer with query": func(c *authn.Config) { c.Issuers = []string{"https://id.example.com/?a=b"} },
		"issuer with frag":  func(c *authn.Config) { c.Issuers = []string{"https://id.example.com/#x"} },
		"issuer with user":  func(c *authn.Config) { c.Issuers = []string{"https://u:p@id.example.com/"} },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			cfg.Issuers = slices.Clone(ok.Issuers)
			cfg.Audiences = slices.Clone(ok.Audiences)
			mutate(&cfg)
			if v, err := authn.NewVerifier(cfg); err == nil {
				t.Fatalf("accepted: %+v", v)
			}
		})
	}
}

func TestHasAudienceOnNil(t *testing.T) {
	var c *authn.Claims
	if c.HasAudience("x") {
		t.Error("nil claims report an audience")
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		token  string
		ok     bool
	}{
		{"canonical", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", true},
		{"lower-case scheme", []string{"bearer abc"}, "abc", true},
		{"upper-case scheme", []string{"BEARER abc"}, "abc", true},
		{"extra spaces", []string{"  Bearer   abc  "}, "abc", true},
		{"b64token characters", []string{"Bearer aZ09-._~+/=="}, "aZ09-._~+/==", true},
		{"missing", nil, "", false},
		{"empty", []string{""}, "", false},
		{"scheme only", []string{"Bearer"}, "", false},
		{"scheme and space", []string{"Bearer "}, "", false},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, "", false},
		{"no space", []string{"Bearerabc"}, "", false},
		{"tab separator", []string{"Bearer\tabc"}, "", false},
		{"two tokens", []string{"Bearer abc def"}, "", false},
		{"only padding", []string{"Bearer =="}, "", false},
		{"padding inside", []string{"Bearer ab=c"}, "", false},
		{"comma", []string{"Bearer abc,def"}, "", false},
		{"repeated header", []string{"Bearer abc", "Bearer def"}, "", false},
		{"non-ASCII", []string{"Bearer abc\u00e9"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.values {
				h.Add("Authorization", v)
			}
			tok, ok := authn.BearerToken(h)
			if tok != tc.token || ok != tc.ok {
				t.Errorf("BearerToken = (%q, %v), want (%q, %v)", tok, ok, tc.token, tc.ok)
			}
		})
	}
}

func TestBearerTokenEndToEnd(t *testing.T) {
	e := newTestEnv(t)
	v := e.verifier(t, nil)
	tok := mint(t, e.primary, devissuer.MintClaims{Subject: "header-user"})

	req, err := http.NewRequest(http.MethodGet, e.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := authn.BearerToken(req.Header); ok {
		t.Fatal("token found in a request without Authorization")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	raw, ok := authn.BearerToken(req.Header)
	if !ok {
		t.Fatal("bearer token not found")
	}
	c, err := v.Verify(req.Context(), raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Subject != "header-user" {
		t.Errorf("subject = %q", c.Subject)
	}
}

func splitJWT(t *testing.T, tok string) (header, payload, sig string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

func decodeSeg(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func encodeSeg(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func encodeRaw(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
