package playground_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/dezky/platform/web/playground"
)

// TestHandlerServesEmbeddedAssets: the page and its bundle come from the
// binary with a strict Content-Security-Policy, revalidated by ETag; the
// page references only same-origin assets that exist.
func TestHandlerServesEmbeddedAssets(t *testing.T) {
	h := playground.Handler(playground.Config{DevSignInPath: "/dev/oidc/signin"})
	get := func(path, etag string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if etag != "" {
			r.Header.Set("If-None-Match", etag)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	page := get("/", "")
	if page.Code != http.StatusOK || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", page.Code, page.Header().Get("Content-Type"))
	}
	csp := page.Header().Get("Content-Security-Policy")
	m := regexp.MustCompile(`style-src 'self' 'nonce-([A-Za-z0-9+/=]{24})';`).FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("Content-Security-Policy %q: want style-src 'self' with a nonce", csp)
	}
	for _, d := range []string{"default-src 'none';", "script-src 'self';", "connect-src 'self';", "frame-ancestors 'none'"} {
		if !strings.Contains(csp+";", d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if !strings.Contains(page.Body.String(), `<meta name="csp-nonce" content="`+m[1]+`">`) {
		t.Errorf("the page does not carry its policy's nonce %s:\n%s", m[1], page.Body)
	}
	if again := get("/", "").Header().Get("Content-Security-Policy"); again == csp {
		t.Error("two page loads got the same nonce")
	}
	for _, ref := range []string{`src="playground/assets/playground.js"`, `href="playground/assets/playground.css"`} {
		if !strings.Contains(page.Body.String(), ref) {
			t.Errorf("page does not reference %s", ref)
		}
	}
	if strings.Contains(page.Body.String(), "http") {
		t.Errorf("page references another origin:\n%s", page.Body)
	}
	for _, name := range []string{"playground.js", "playground.css"} {
		w := get("/playground/assets/"+name, "")
		if w.Code != http.StatusOK || w.Body.Len() < 1000 || w.Header().Get("ETag") == "" {
			t.Fatalf("%s: %d, %d bytes, ETag %q", name, w.Code, w.Body.Len(), w.Header().Get("ETag"))
		}
		if again := get("/playground/assets/"+name, w.Header().Get("ETag")); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("%s with its ETag: %d, %d bytes, want 304 without a body", name, again.Code, again.Body.Len())
		}
	}
	// Compressed for clients that take gzip, the same bytes once inflated.
	r := httptest.NewRequest(http.MethodGet, "/playground/assets/playground.js", nil)
	r.Header.Set("Accept-Encoding", "br, gzip")
	zipped := httptest.NewRecorder()
	h.ServeHTTP(zipped, r)
	if zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", zipped.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	inflated, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if plain := get("/playground/assets/playground.js", ""); !bytes.Equal(inflated, plain.Body.Bytes()) || plain.Header().Get("Content-Encoding") != "" {
		t.Error("the gzipped asset does not inflate to the plain one")
	}
	if w := get("/playground/assets/index.html", ""); w.Code != http.StatusNotFound {
		t.Errorf("index.html under assets: %d, want 404", w.Code)
	}
	if w := get("/playground/assets/nope.js", ""); w.Code != http.StatusNotFound {
		t.Errorf("unknown asset: %d, want 404", w.Code)
	}
	t.Logf("embedded assets: %d bytes in %v", playground.Size(), playground.Files())
}

// TestHandlerOIDCConnectSources: with an external issuer the policy lets
// the page reach the issuer and, read from its discovery document, the
// token endpoint's origin, and nothing else.
func TestHandlerOIDCConnectSources(t *testing.T) {
	tokens := httptest.NewServer(http.NotFoundHandler())
	defer tokens.Close()
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/realm/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"x","authorization_endpoint":"` + "http://" + r.Host + `/realm/auth","token_endpoint":"` + tokens.URL + `/token"}`))
	}))
	defer idp.Close()
	h := playground.Handler(playground.Config{OIDC: &playground.OIDC{Issuer: idp.URL + "/realm/", ClientID: "pg"}})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	want := "connect-src 'self' " + idp.URL + " " + tokens.URL + ";"
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, want) {
		t.Errorf("Content-Security-Policy %q, want %q", csp, want)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/playground/config.json", nil))
	if body := w.Body.String(); !strings.Contains(body, `"clientId":"pg"`) || !strings.Contains(body, `"scopes":"`+playground.DefaultScopes+`"`) || strings.Contains(body, "devSignIn") {
		t.Errorf("config.json = %s", body)
	}
}
