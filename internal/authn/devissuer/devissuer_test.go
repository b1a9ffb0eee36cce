package devissuer_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/dezky/platform/internal/authn/devissuer"
)

func TestLoadOrCreatePersistsKey(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "data", "keys", "dev-issuer.pem")
	srv, mux := newServer(t)
	url := srv.URL + "/dev/"

	first, err := devissuer.LoadOrCreate(keyPath, url)
	if err != nil {
		t.Fatalf("first LoadOrCreate: %v", err)
	}
	stored, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatalf("key file not written: %v", err)
	}
	if runtime.GOOS != "windows" {
		info, err := os.Stat(keyPath)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode = %#o, want 0600", perm)
		}
		dirInfo, err := os.Stat(filepath.Dir(keyPath))
		if err != nil {
			t.Fatal(err)
		}
		if perm := dirInfo.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("created key directory mode = %#o, want no group/other access", perm)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(keyPath))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want only the key file", len(entries))
	}

	second, err := devissuer.LoadOrCreate(keyPath, url)
	if err != nil {
		t.Fatalf("second LoadOrCreate: %v", err)
	}
	if first.KeyID() != second.KeyID() {
		t.Errorf("key ID changed across loads: %s != %s", first.KeyID(), second.KeyID())
	}
	again, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(stored) {
		t.Error("key file rewritten by the second load")
	}

	block, _ := pem.Decode(stored)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("key file is not a PKCS#8 PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok || rsaKey.N.BitLen() != 2048 {
		t.Fatalf("generated key is %T, want RSA-2048", key)
	}
	if first.Algorithm() != "RS256" {
		t.Errorf("Algorithm = %s, want RS256", first.Algorithm())
	}
	if want := rsaThumbprint(&rsaKey.PublicKey); first.KeyID() != want {
		t.Errorf("key ID = %s, want RFC 7638 thumbprint %s", first.KeyID(), want)
	}

	// A token minted after reloading verifies against the first instance's
	// published keys.
	mount(mux, first, "/dev/")
	tok, err := second.Mint(devissuer.MintClaims{Subject: "s", Audience: []string{"a"}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	verifyWithProvider(t, first.URL(), tok, srv.Client())
}

func TestDifferentKeyFilesGiveDifferentKeys(t *testing.T) {
	dir := t.TempDir()
	a, err := devissuer.LoadOrCreate(filepath.Join(dir, "a.pem"), "http://127.0.0.1/")
	if err != nil {
		t.Fatal(err)
	}
	b, err := devissuer.LoadOrCreate(filepath.Join(dir, "b.pem"), "http://127.0.0.1/")
	if err != nil {
		t.Fatal(err)
	}
	if a.KeyID() == b.KeyID() {
		t.Error("two generated keys share a key ID")
	}
}

func TestConcurrentFirstRunsAgreeOnOneKey(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "dev.pem")
	const n = 4
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			iss, err := devissuer.LoadOrCreate(keyPath, "http://127.0.0.1/")
			if err == nil {
				ids[i] = iss.KeyID()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("LoadOrCreate %d: %v", i, err)
		}
	}
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("concurrent first runs produced different keys: %q", ids)
		}
	}
	reloaded, err := devissuer.LoadOrCreate(keyPath, "http://127.0.0.1/")
	if err != nil {
		t.Fatal(err)
	}
	if reloaded.KeyID() != ids[0] {
		t.Error("stored key differs from the one the concurrent runs returned")
	}
}

func TestLoadOrCreateAcceptsExistingKeys(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		pem []byte
		alg string
	}{
		"RSA PKCS#8":   {pkcs8PEM(t, rsaKey), "RS256"},
		"RSA PKCS#1":   {pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), "RS256"},
		"P-256 PKCS#8": {pkcs8PEM(t, ecKey), "ES256"},
		"P-256 SEC 1":  {pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), "ES256"},
		"Ed25519":      {pkcs8PEM(t, edKey), "EdDSA"},
		"leading text": {append([]byte("dev issuer key\n"), pkcs8PEM(t, rsaKey)...), "RS256"},
	} {
		t.Run(name, func(t *testing.T) {
			keyPath := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(keyPath, tc.pem, 0o600); err != nil {
				t.Fatal(err)
			}
			srv, mux := newServer(t)
			iss, err := devissuer.LoadOrCreate(keyPath, srv.URL+"/oidc/")
			if err != nil {
				t.Fatalf("LoadOrCreate: %v", err)
			}
			if iss.Algorithm() != tc.alg {
				t.Errorf("Algorithm = %s, want %s", iss.Algorithm(), tc.alg)
			}
			mount(mux, iss, "/oidc/")
			tok, err := iss.Mint(devissuer.MintClaims{Subject: "s", Audience: []string{"a"}, TTL: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			verifyWithProvider(t, iss.URL(), tok, srv.Client())
		})
	}
}

func TestLoadOrCreateRejectsBadKeys(t *testing.T) {
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
	for name, data := range map[string][]byte{
		"not PEM":         []byte("not a key"),
		"empty":           {},
		"certificate":     cert,
		"corrupt PKCS#8":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("garbage")}),
		"RSA-1024":        pkcs8PEM(t, smallRSA),
		"P-384":           pkcs8PEM(t, p384),
		"truncated PEM":   pkcs8PEM(t, smallRSA)[:100],
		"public key only": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}),
	} {
		t.Run(name, func(t *testing.T) {
			keyPath := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(keyPath, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := devissuer.LoadOrCreate(keyPath, "http://127.0.0.1/"); err == nil {
				t.Fatal("accepted")
			}
			after, err := os.ReadFile(keyPath)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(data) {
				t.Error("existing key file was overwritten")
			}
		})
	}
}

func TestLoadOrCreateRefusesLoosePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX permissions only")
	}
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	if _, err := devissuer.LoadOrCreate(keyPath, "http://127.0.0.1/"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := devissuer.LoadOrCreate(keyPath, "http://127.0.0.1/")
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("error = %v, want a permissions error", err)
	}
}

func TestLoadOrCreateValidatesArguments(t *testing.T) {
	dir := t.TempDir()
	if _, err := devissuer.LoadOrCreate("", "http://127.0.0.1/"); err == nil {
		t.Error("empty key path accepted")
	}
	for _, u := range []string{"", "/dev/", "127.0.0.1:8080", "ftp://127.0.0.1/", "http:///x", "http://h/?a=b", "http://h/#f", "http://u@h/"} {
		keyPath := filepath.Join(dir, "k.pem")
		if _, err := devissuer.LoadOrCreate(keyPath, u); err == nil {
			t.Errorf("issuer URL %q accepted", u)
		}
		if _, err := os.Stat(keyPath); err == nil {
			t.Errorf("key created despite invalid issuer URL %q", u)
		}
	}
}

func TestHandlerServesDiscoveryAndJWKS(t *testing.T) {
	for _, path := range []string{"/application/o/demo/", "/dev", "/"} {
		t.Run(path, func(t *testing.T) {
			srv, mux := newServer(t)
			iss, err := devissuer.LoadOrCreate(filepath.Join(t.TempDir(), "k.pem"), srv.URL+path)
			if err != nil {
				t.Fatal(err)
			}
			if iss.URL() != srv.URL+path {
				t.Errorf("URL() = %q", iss.URL())
			}
			prefix := strings.TrimSuffix(path, "/")
			if prefix == "" {
				mux.Handle("/", iss.Handler())
			} else {
				mount(mux, iss, path)
			}

			var doc struct {
				Issuer  string   `json:"issuer"`
				JWKSURI string   `json:"jwks_uri"`
				Algs    []string `json:"id_token_signing_alg_values_supported"`
				Resp    []string `json:"response_types_supported"`
				Subj    []string `json:"subject_types_supported"`
			}
			getJSON(t, srv.Client(), prefix+"/.well-known/openid-configuration", srv.URL, &doc)
			if doc.Issuer != iss.URL() {
				t.Errorf("issuer = %q, want %q", doc.Issuer, iss.URL())
			}
			if want := srv.URL + prefix + "/jwks"; doc.JWKSURI != want {
				t.Errorf("jwks_uri = %q, want %q", doc.JWKSURI, want)
			}
			if !slices.Equal(doc.Algs, []string{"RS256"}) || len(doc.Resp) == 0 || len(doc.Subj) == 0 {
				t.Errorf("discovery document = %+v", doc)
			}

			for _, jwksPath := range []string{prefix + "/jwks", prefix + "/jwks/"} {
				var set struct {
					Keys []struct {
						Kid string `json:"kid"`
						Kty string `json:"kty"`
						Alg string `json:"alg"`
						Use string `json:"use"`
						D   string `json:"d"`
						P   string `json:"p"`
					} `json:"keys"`
				}
				getJSON(t, srv.Client(), jwksPath, srv.URL, &set)
				if len(set.Keys) != 1 {
					t.Fatalf("%s: %d keys", jwksPath, len(set.Keys))
				}
				k := set.Keys[0]
				if k.Kid != iss.KeyID() || k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" {
					t.Errorf("%s: key = %+v", jwksPath, k)
				}
				if k.D != "" || k.P != "" {
					t.Fatalf("%s publishes private key material", jwksPath)
				}
			}

			for _, tc := range []struct {
				method, path string
				status       int
			}{
				{http.MethodPost, prefix + "/jwks", http.StatusMethodNotAllowed},
				{http.MethodGet, prefix + "/nothing", http.StatusNotFound},
				{http.MethodHead, prefix + "/.well-known/openid-configuration", http.StatusOK},
			} {
				req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
				}
			}

			tok, err := iss.Mint(devissuer.MintClaims{Subject: "s", Audience: []string{"a"}, TTL: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			verifyWithProvider(t, iss.URL(), tok, srv.Client())
		})
	}
}

func TestMintClaims(t *testing.T) {
	iss, err := devissuer.LoadOrCreate(filepath.Join(t.TempDir(), "k.pem"), "https://dev.example.com/o/app/")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	tok, err := iss.Mint(devissuer.MintClaims{
		Subject: "user-7", Email: "u7@example.com", Name: "User Seven",
		Audience: []string{"a1", "a2"}, TTL: 90 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var header struct {
		Alg, Kid, Typ string
	}
	decode(t, parts[0], &header)
	if header.Alg != "RS256" || header.Kid != iss.KeyID() || header.Typ != "JWT" {
		t.Errorf("header = %+v", header)
	}
	var claims struct {
		Iss, Sub, Email, Name, Jti string
		Aud                        []string
		Iat, Nbf, Exp              int64
	}
	decode(t, parts[1], &claims)
	if claims.Iss != iss.URL() || claims.Sub != "user-7" || claims.Email != "u7@example.com" || claims.Name != "User Seven" {
		t.Errorf("claims = %+v", claims)
	}
	if !slices.Equal(claims.Aud, []string{"a1", "a2"}) {
		t.Errorf("aud = %q", claims.Aud)
	}
	if claims.Exp-claims.Iat != int64((90*time.Minute).Seconds()) || claims.Nbf != claims.Iat {
		t.Errorf("times iat=%d nbf=%d exp=%d", claims.Iat, claims.Nbf, claims.Exp)
	}
	if time.Unix(claims.Iat, 0).Before(before.Truncate(time.Second)) {
		t.Errorf("iat %d is before the call", claims.Iat)
	}
	if claims.Jti == "" {
		t.Error("no jti")
	}

	other, err := iss.Mint(devissuer.MintClaims{Subject: "user-7", Audience: []string{"a1"}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var otherClaims struct{ Jti string }
	decode(t, strings.Split(other, ".")[1], &otherClaims)
	if otherClaims.Jti == claims.Jti {
		t.Error("two tokens share a jti")
	}

	minimal, err := iss.Mint(devissuer.MintClaims{Subject: "m", Audience: []string{"a"}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	decode(t, strings.Split(minimal, ".")[1], &raw)
	if _, ok := raw["email"]; ok {
		t.Error("empty email emitted")
	}
	if _, ok := raw["name"]; ok {
		t.Error("empty name emitted")
	}
}

func TestMintValidates(t *testing.T) {
	iss, err := devissuer.LoadOrCreate(filepath.Join(t.TempDir(), "k.pem"), "http://127.0.0.1/")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]devissuer.MintClaims{
		"no subject":     {Audience: []string{"a"}, TTL: time.Minute},
		"no audience":    {Subject: "s", TTL: time.Minute},
		"empty audience": {Subject: "s", Audience: []string{"a", ""}, TTL: time.Minute},
		"zero TTL":       {Subject: "s", Audience: []string{"a"}},
		"negative TTL":   {Subject: "s", Audience: []string{"a"}, TTL: -time.Minute},
	} {
		t.Run(name, func(t *testing.T) {
			if tok, err := iss.Mint(c); err == nil {
				t.Fatalf("minted %q", tok)
			}
		})
	}
}

func newServer(t *testing.T) (*httptest.Server, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, mux
}

// mount serves iss on mux at path, the path of the issuer URL, as the
// package documentation describes.
func mount(mux *http.ServeMux, iss *devissuer.Issuer, path string) {
	prefix := strings.TrimSuffix(path, "/")
	mux.Handle(prefix+"/", http.StripPrefix(prefix, iss.Handler()))
}

// verifyWithProvider checks tok through plain go-oidc discovery, proving the
// published metadata satisfies it. The issuer URL's host is reached through
// client, which dials the test server.
func verifyWithProvider(t *testing.T, issuerURL, tok string, client *http.Client) {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), client)
	provider, err := oidc.NewProvider(ctx, issuerURL)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	idt, err := provider.VerifierContext(ctx, &oidc.Config{SkipClientIDCheck: true}).Verify(ctx, tok)
	if err != nil {
		t.Fatalf("go-oidc verify: %v", err)
	}
	if idt.Issuer != issuerURL {
		t.Errorf("verified issuer = %q", idt.Issuer)
	}
}

func getJSON(t *testing.T, client *http.Client, path, base string, v any) {
	t.Helper()
	resp, err := client.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d: %s", path, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s Content-Type = %q", path, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func decode(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func pkcs8PEM(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// rsaThumbprint computes the RFC 7638 JWK thumbprint of pub independently of
// the JOSE library: SHA-256 over {"e":…,"kty":"RSA","n":…}.
func rsaThumbprint(pub *rsa.PublicKey) string {
	b64 := base64.RawURLEncoding.EncodeToString
	e := big.NewInt(int64(pub.E)).Bytes()
	input := `{"e":"` + b64(e) + `","kty":"RSA","n":"` + b64(pub.N.Bytes()) + `"}`
	sum := sha256.Sum256([]byte(input))
	return b64(sum[:])
}
