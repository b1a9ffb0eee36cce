package authn_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/dezky/platform/internal/authn"
	"github.com/dezky/platform/internal/authn/devissuer"
)

const (
	audPortal   = "dezky-portal"
	audOperator = "dezky-operator"

	// Issuer mount points on the test server. The primary issuer follows
	// Authentik's per-application layout (trailing slash); the secondary
	// one has no trailing slash.
	primaryPath   = "/application/o/portal/"
	secondaryPath = "/dev"
	strangerPath  = "/application/o/stranger/"
	customPath    = "/application/o/custom/"
)

// clock is a settable time source shared by a test and its Verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// gate makes an issuer's discovery endpoint fail or block on demand and
// counts the requests it receives.
type gate struct {
	discoveryHits atomic.Int64
	jwksHits      atomic.Int64
	failing       atomic.Bool
	mu            sync.Mutex
	hold          chan struct{} // when non-nil, discovery waits for it to close
}

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
			g.discoveryHits.Add(1)
			g.mu.Lock()
			hold := g.hold
			g.mu.Unlock()
			if hold != nil {
				<-hold
			}
			if g.failing.Load() {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
		case strings.Contains(r.URL.Path, "/jwks"):
			g.jwksHits.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// testEnv is an HTTP server hosting several development issuers.
type testEnv struct {
	srv *httptest.Server
	mux *http.ServeMux

	primary   *devissuer.Issuer // configured
	secondary *devissuer.Issuer // configured
	stranger  *devissuer.Issuer // served, but not configured
	impostor  *devissuer.Issuer // claims the primary's URL, own key, not served
	custom    *devissuer.Issuer // configured; the test holds its key
	customKey crypto.Signer

	primaryGate, secondaryGate, strangerGate *gate
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	e := &testEnv{
		srv: srv, mux: mux,
		primaryGate: &gate{}, secondaryGate: &gate{}, strangerGate: &gate{},
	}

	keys := envKeys(t)
	file := func(name string, key crypto.Signer) string {
		path := filepath.Join(dir, name+".pem")
		writeKey(t, path, key)
		return path
	}
	e.primary = e.mount(t, file("primary", keys[0]), primaryPath, e.primaryGate)
	e.secondary = e.mount(t, file("secondary", keys[1]), secondaryPath, e.secondaryGate)
	e.stranger = e.mount(t, file("stranger", keys[2]), strangerPath, e.strangerGate)

	impostor, err := devissuer.LoadOrCreate(file("impostor", keys[3]), e.primary.URL())
	if err != nil {
		t.Fatalf("impostor issuer: %v", err)
	}
	e.impostor = impostor

	e.customKey = keys[4]
	e.custom = e.mount(t, file("custom", keys[4]), customPath, &gate{})
	return e
}

// envKeys returns five distinct RSA keys, one per issuer of a test
// environment. They are generated once per test binary and shared by the
// environments (each has its own server and issuer URLs): generating
// 2048-bit keys for every environment was most of this package's run time.
func envKeys(t testing.TB) []*rsa.PrivateKey {
	t.Helper()
	keys, err := sharedKeys()
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return keys
}

var sharedKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, 5)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
})

// mount creates a development issuer whose URL is srv.URL+path and serves it
// there behind g.
func (e *testEnv) mount(t testing.TB, keyFile, path string, g *gate) *devissuer.Issuer {
	t.Helper()
	iss, err := devissuer.LoadOrCreate(keyFile, e.srv.URL+path)
	if err != nil {
		t.Fatalf("LoadOrCreate(%s): %v", path, err)
	}
	prefix := strings.TrimSuffix(path, "/")
	e.mux.Handle(prefix+"/", http.StripPrefix(prefix, g.wrap(iss.Handler())))
	return iss
}

func writeKey(t testing.TB, path string, key crypto.Signer) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write key: %v", err)
	}
}

// config returns the Config used by most tests: primary, secondary and
// custom issuers, two audiences.
func (e *testEnv) config(now func() time.Time) authn.Config {
	return authn.Config{
		Issuers:    []string{e.primary.URL(), e.secondary.URL(), e.custom.URL()},
		Audiences:  []string{audPortal, audOperator},
		HTTPClient: e.srv.Client(),
		Now:        now,
	}
}

func (e *testEnv) verifier(t testing.TB, now func() time.Time) *authn.Verifier {
	t.Helper()
	v, err := authn.NewVerifier(e.config(now))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func mint(t testing.TB, iss *devissuer.Issuer, c devissuer.MintClaims) string {
	t.Helper()
	if c.Subject == "" {
		c.Subject = "user-1"
	}
	if c.Audience == nil {
		c.Audience = []string{audPortal}
	}
	if c.TTL == 0 {
		c.TTL = time.Hour
	}
	tok, err := iss.Mint(c)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

// signCustom signs arbitrary claims with the custom issuer's key, with the
// given algorithm and the issuer's key ID.
func (e *testEnv) signCustom(t testing.TB, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("marshal claims: %v", err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: e.customKey, KeyID: e.custom.KeyID()}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return tok
}

// customClaims returns a valid claim set for the custom issuer.
func (e *testEnv) customClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": e.custom.URL(),
		"sub": "custom-user",
		"aud": audOperator,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}
