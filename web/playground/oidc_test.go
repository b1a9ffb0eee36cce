package playground_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/authn/devissuer"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// authServer is an OpenID Connect provider for one public client: the
// authorization endpoint consents at once (for the user it is given) and
// the token endpoint checks the PKCE verifier, the client and the redirect
// URI, and rotates refresh tokens. Tokens are signed by a development
// issuer whose JWKS it publishes, so the API verifies them as it would any
// external issuer's.
type authServer struct {
	srv         *httptest.Server
	iss         *devissuer.Issuer
	clientID    string
	redirectURI string
	user        devissuer.MintClaims

	mu       sync.Mutex
	codes    map[string]pendingCode
	refresh  map[string]bool
	grants   []string // grant types served, in order
	accessed []string // access tokens issued, in order
}

type pendingCode struct{ challenge, redirectURI string }

// tokenTTL is the lifetime of the provider's access tokens: a little over
// the playground's renewal margin (60 s), so it renews within seconds.
const tokenTTL = 62 * time.Second

func newAuthServer(t *testing.T, clientID string, user devissuer.MintClaims) *authServer {
	t.Helper()
	a := &authServer{clientID: clientID, user: user, codes: map[string]pendingCode{}, refresh: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", a.discovery)
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) { a.iss.Handler().ServeHTTP(w, r) })
	mux.HandleFunc("GET /authorize", a.authorize)
	mux.HandleFunc("POST /token", a.token)
	mux.HandleFunc("OPTIONS /token", a.cors)
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	var err error
	if a.iss, err = devissuer.LoadOrCreate(filepath.Join(t.TempDir(), "idp.pem"), a.srv.URL); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *authServer) cors(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Accept")
	w.Header().Set("Access-Control-Allow-Methods", "POST")
}

func (a *authServer) discovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                a.srv.URL,
		"authorization_endpoint":                a.srv.URL + "/authorize",
		"token_endpoint":                        a.srv.URL + "/token",
		"jwks_uri":                              a.srv.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{a.iss.Algorithm()},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
	})
}

func (a *authServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("response_type") != "code", q.Get("client_id") != a.clientID, q.Get("redirect_uri") != a.redirectURI,
		q.Get("code_challenge_method") != "S256", len(q.Get("code_challenge")) != 43, q.Get("state") == "",
		!strings.Contains(" "+q.Get("scope")+" ", " openid "):
		http.Error(w, "invalid authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	code := rand.Text()
	a.mu.Lock()
	a.codes[code] = pendingCode{challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
	a.mu.Unlock()
	back := a.redirectURI + "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back, http.StatusFound)
}

func (a *authServer) token(w http.ResponseWriter, r *http.Request) {
	a.cors(w, r)
	fail := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != a.clientID {
		fail("invalid_client")
		return
	}
	grant := r.PostForm.Get("grant_type")
	a.mu.Lock()
	defer a.mu.Unlock()
	switch grant {
	case "authorization_code":
		p, ok := a.codes[r.PostForm.Get("code")]
		delete(a.codes, r.PostForm.Get("code")) // one use only
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || p.redirectURI != r.PostForm.Get("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge {
			fail("invalid_grant")
			return
		}
	case "refresh_token":
		if !a.refresh[r.PostForm.Get("refresh_token")] {
			fail("invalid_grant")
			return
		}
		delete(a.refresh, r.PostForm.Get("refresh_token")) // rotated
	default:
		fail("unsupported_grant_type")
		return
	}
	claims := a.user
	claims.TTL = tokenTTL
	tok, err := a.iss.Mint(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	refresh := rand.Text()
	a.refresh[refresh] = true
	a.grants = append(a.grants, grant)
	a.accessed = append(a.accessed, tok)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "id_token": tok, "token_type": "Bearer",
		"expires_in": int(tokenTTL / time.Second), "refresh_token": refresh,
	})
}

func (a *authServer) issued() (grants, tokens []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.grants...), append([]string(nil), a.accessed...)
}

// TestPlaygroundOIDCLogin drives headless Chromium through the playground's
// login against an external issuer: the authorization-code flow with PKCE
// signs the tenant admin in, `{ me { email } }` answers with their email,
// the page renews the access token with the refresh token before it
// expires, and the next operation carries the renewed token. Requests go
// only to the server's and the issuer's origins, within the page's policy.
func TestPlaygroundOIDCLogin(t *testing.T) {
	browser := requireBrowser(t)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			idp := newAuthServer(t, "dezky-playground", devissuer.MintClaims{
				Subject: "demo-acme-admin", Email: "admin@acme.example", Audience: []string{app.DefaultPortalAudience},
			})
			s := testserver.StartWith(t, dialect, func(c *app.ServeConfig) {
				c.Issuers = []string{idp.srv.URL}
				c.PlaygroundClientID = "dezky-playground"
			})
			idp.redirectURI = s.URL + "/"
			base, _ := url.Parse(s.URL)
			issuer, _ := url.Parse(idp.srv.URL)

			var log pageLog
			ctx := startBrowser(t, browser, &log)
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/"),
				chromedp.WaitVisible(chromedp.CSS(`#dz-signin`)),
				chromedp.Click(chromedp.CSS(`#dz-signin`)),
				chromedp.WaitVisible(chromedp.CSS(`#dz-email`)),
				chromedp.WaitVisible(chromedp.CSS(`.graphiql-query-editor .CodeMirror`)),
			); err != nil {
				_, problems := log.snapshot()
				t.Fatalf("sign in: %v (page problems: %v)", err, problems)
			}
			email, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#dz-email`)))
			if err != nil || email != "admin@acme.example" {
				t.Fatalf("signed in as %q (%v), want admin@acme.example", email, err)
			}
			if location, _ := chromedp.Run(ctx, chromedp.Location()); strings.Contains(location, "code=") {
				t.Errorf("the authorization code stays in the address bar: %s", location)
			}
			if err := run(ctx, `{ me { email } }`); err != nil {
				t.Fatal(err)
			}
			if _, err := responseContaining(ctx, `"email": "admin@acme.example"`); err != nil {
				t.Fatalf("me: %v", err)
			}

			// The page renews the token before it expires.
			deadline := time.Now().Add(time.Minute)
			for {
				grants, _ := idp.issued()
				if len(grants) >= 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the page did not renew its token; grants served: %v", grants)
				}
				time.Sleep(100 * time.Millisecond)
			}
			grants, _ := idp.issued()
			if grants[0] != "authorization_code" || grants[1] != "refresh_token" {
				t.Fatalf("grants served %v, want authorization_code then refresh_token", grants)
			}
			// The page may have renewed again meanwhile: the operation must
			// carry one of the renewed tokens, never the first.
			if err := run(ctx, `{ me { name email } }`); err != nil {
				t.Fatal(err)
			}
			if _, err := responseContaining(ctx, `"name"`); err != nil {
				t.Fatalf("me after renewal: %v", err)
			}
			sent := log.bearers()
			last := strings.TrimPrefix(sent[len(sent)-1], "Bearer ")
			_, tokens := idp.issued()
			if last == tokens[0] || !slices.Contains(tokens[1:], last) {
				t.Errorf("the operation after renewal sent %.20s…, not a renewed token", last)
			}
			checkPage(t, &log, base.Host, issuer.Host)
		})
	}
}
