package playground_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/authn/devissuer"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// getJSON fetches url and decodes a JSON body into v (when v is not nil),
// returning the response.
func getJSON(t *testing.T, url string, v any) *http.Response {
	t.Helper()
	rsp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	if v != nil && rsp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: decode %s: %v", url, b, err)
		}
	}
	return rsp
}

// postOperation runs the operation named op of the document src.
func postOperation(t *testing.T, base, token, src, op string) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": src, "operationName": op})
	req, _ := http.NewRequest(http.MethodPost, base+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	return rsp.StatusCode, b
}

type signInResponse struct {
	AccessToken string `json:"accessToken"`
	TokenType   string `json:"tokenType"`
	ExpiresIn   int    `json:"expiresIn"`
	Email       string `json:"email"`
	Error       string `json:"error"`
}

func signIn(t *testing.T, base, as string) (int, signInResponse) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"as": as})
	rsp, err := http.Post(base+app.DevSignInPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	var out signInResponse
	b, _ := io.ReadAll(rsp.Body)
	if err := json.Unmarshal(b, &out); err != nil && rsp.StatusCode == http.StatusOK {
		t.Fatalf("sign in as %s: decode %s: %v", as, b, err)
	}
	return rsp.StatusCode, out
}

// TestDevSignIn: with the embedded development issuer the playground's
// configuration names the sign-in endpoint, which lists every demo
// persona and mints, for each, a token the API accepts as that user; with
// it every example query of the persona's docs/examples file runs without
// error. An unknown persona is a 404 and mints nothing.
func TestDevSignIn(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := testserver.Start(t, dialect)
			var cfg struct {
				Endpoint  string          `json:"endpoint"`
				DevSignIn string          `json:"devSignIn"`
				OIDC      json.RawMessage `json:"oidc"`
			}
			getJSON(t, s.URL+"/playground/config.json", &cfg)
			if cfg.Endpoint != "/query" || cfg.DevSignIn != app.DevSignInPath || cfg.OIDC != nil {
				t.Fatalf("config.json = %+v, want endpoint /query and devSignIn %s", cfg, app.DevSignInPath)
			}

			var list struct{ Personas []devissuer.Persona }
			if rsp := getJSON(t, s.URL+app.DevSignInPath, &list); rsp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: HTTP %d", app.DevSignInPath, rsp.StatusCode)
			}
			emails := map[string]string{}
			for _, p := range list.Personas {
				emails[p.As] = p.Email
			}
			want := map[string]string{
				"operator": "operator@dezky.local", "partner:northwind": "staff@northwind.example",
				"admin:acme": "admin@acme.example", "member:acme": "member@acme.example",
				"admin:globex": "admin@globex.example", "member:globex": "member@globex.example",
			}
			for as, email := range want {
				if emails[as] != email {
					t.Errorf("persona %s: email %q, want %q (personas %+v)", as, emails[as], email, list.Personas)
				}
			}

			for file, as := range examplePersonas {
				status, tok := signIn(t, s.URL, as)
				if status != http.StatusOK || tok.TokenType != "Bearer" || tok.ExpiresIn != int(devissuer.SignInTTL.Seconds()) {
					t.Fatalf("sign in as %s: HTTP %d %+v", as, status, tok)
				}
				var me struct{ Me struct{ Email string } }
				s.Do(testserver.Request{Query: `{ me { email } }`, Token: tok.AccessToken}).Decode(t, &me)
				if me.Me.Email != want[as] || tok.Email != want[as] {
					t.Fatalf("signed in as %s: me.email %q, response email %q, want %q", as, me.Me.Email, tok.Email, want[as])
				}
				src, doc := loadExample(t, file)
				for _, op := range doc.Operations {
					if op.Operation != "query" {
						continue // mutations change the demo data; the browser test runs a subscription
					}
					status, body := postOperation(t, s.URL, tok.AccessToken, src, op.Name)
					if status != http.StatusOK || bytes.Contains(body, []byte(`"errors"`)) {
						t.Errorf("%s as %s, operation %s: HTTP %d %s", file, as, op.Name, status, body)
					}
				}
			}

			if status, out := signIn(t, s.URL, "partner:nowhere"); status != http.StatusNotFound || out.AccessToken != "" {
				t.Errorf("unknown persona: HTTP %d %+v, want 404 without a token", status, out)
			}
		})
	}
}

// TestNoDevSignInWithExternalIssuer: with an external issuer nothing
// mints tokens: the sign-in endpoint is not served (404 for GET and POST)
// and the playground is configured for the OIDC login with the public
// client id, its Content-Security-Policy allowing connections to the
// issuer and nowhere else but this origin.
func TestNoDevSignInWithExternalIssuer(t *testing.T) {
	var iss *devissuer.Issuer
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { iss.Handler().ServeHTTP(w, r) }))
	defer idp.Close()
	var err error
	if iss, err = devissuer.LoadOrCreate(filepath.Join(t.TempDir(), "key.pem"), idp.URL); err != nil {
		t.Fatal(err)
	}
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := testserver.StartWith(t, dialect, func(c *app.ServeConfig) {
				c.Issuers = []string{iss.URL()}
				c.PlaygroundClientID = "dezky-playground"
			})
			if s.DevIssuer != nil {
				t.Fatal("the development issuer runs although an external issuer is configured")
			}
			if rsp := getJSON(t, s.URL+app.DevSignInPath, nil); rsp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: HTTP %d, want 404", app.DevSignInPath, rsp.StatusCode)
			}
			if status, out := signIn(t, s.URL, "operator"); status != http.StatusNotFound || out.AccessToken != "" {
				t.Errorf("POST %s: HTTP %d %+v, want 404 without a token", app.DevSignInPath, status, out)
			}
			var cfg struct {
				DevSignIn string `json:"devSignIn"`
				OIDC      struct{ Issuer, ClientID, Scopes string }
			}
			rsp := getJSON(t, s.URL+"/playground/config.json", &cfg)
			if cfg.DevSignIn != "" || cfg.OIDC.Issuer != iss.URL() || cfg.OIDC.ClientID != "dezky-playground" || !strings.Contains(cfg.OIDC.Scopes, "openid") {
				t.Errorf("config.json = %+v, want the OIDC login with issuer %s and client dezky-playground", cfg, iss.URL())
			}
			csp := rsp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "connect-src 'self' "+idp.URL+";") {
				t.Errorf("Content-Security-Policy %q: want connect-src 'self' %s", csp, idp.URL)
			}
		})
	}
}
