// Package playground serves the API playground: GraphiQL (with the explorer
// plugin and graphql-ws subscriptions) bundled from pinned npm packages into
// dist/ by `make generate` and embedded in the binary, so the page works
// offline and no request leaves the server's origin.
//
// [Handler] serves, relative to the server root:
//
//	GET /                               the page (strict Content-Security-Policy)
//	GET /playground/config.json         where to send operations and how to sign in
//	GET /playground/assets/{file}       the bundle (playground.js, playground.css, licenses)
//
// Sign-in is either the development persona picker ([Config.DevSignInPath],
// the embedded development issuer's sign-in endpoint) or an OpenID Connect
// authorization-code login with PKCE against an external issuer
// ([Config.OIDC]); the page sends the resulting access token as the bearer
// header on HTTP and in the graphql-ws connection_init payload
// ({"Authorization": "Bearer …"}), and renews it before it expires.
package playground

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed dist
var dist embed.FS

// Config configures the playground page.
type Config struct {
	// Endpoint is the GraphQL endpoint path (default "/query"); it must be
	// on this origin.
	Endpoint string
	// DevSignInPath, when set, is the embedded development issuer's
	// sign-in endpoint: the page offers a picker of demo users.
	DevSignInPath string
	// OIDC, when set (and DevSignInPath is not), makes the page sign in
	// with an authorization-code + PKCE login against an external issuer.
	OIDC *OIDC
}

// OIDC is the external issuer login of the page.
type OIDC struct {
	// Issuer is the issuer URL (its discovery document is at
	// Issuer/.well-known/openid-configuration).
	Issuer string
	// ClientID is a public client (no secret) registered at the issuer
	// with this server's root URL as redirect URI and this origin allowed
	// for CORS.
	ClientID string
	// Scopes requested (space-separated); default "openid email profile
	// offline_access" (offline_access asks for a refresh token).
	Scopes string
	// HTTPClient fetches the issuer's discovery document to learn the
	// token endpoint's origin for the Content-Security-Policy (default: a
	// client with a 5 s timeout).
	HTTPClient *http.Client
}

// DefaultScopes are the scopes requested when OIDC.Scopes is empty.
const DefaultScopes = "openid email profile offline_access"

// asset is one embedded file.
type asset struct {
	body        []byte
	etag        string
	contentType string
	// gzipped is body gzip-compressed (nil when that does not pay).
	gzipped []byte
}

var assets = sync.OnceValues(func() (map[string]asset, error) {
	out := map[string]asset{}
	err := fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := dist.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a := asset{body: b, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, contentType: ct}
		if len(b) > 1024 {
			var buf bytes.Buffer
			zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			if err != nil {
				return err
			}
			if _, err := zw.Write(b); err != nil {
				return err
			}
			if err := zw.Close(); err != nil {
				return err
			}
			a.gzipped = buf.Bytes()
		}
		out[strings.TrimPrefix(p, "dist/")] = a
		return nil
	})
	return out, err
})

// Size returns the total size in bytes of the embedded assets.
func Size() int {
	a, _ := assets()
	n := 0
	for _, f := range a {
		n += len(f.body)
	}
	return n
}

// Files returns the names of the embedded assets, sorted.
func Files() []string {
	a, _ := assets()
	names := make([]string, 0, len(a))
	for n := range a {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Handler serves the page, its configuration and its assets; mount it at
// "GET /{$}" and "GET /playground/".
func Handler(c Config) http.Handler {
	if c.Endpoint == "" {
		c.Endpoint = "/query"
	}
	h := &handler{cfg: c}
	if c.OIDC != nil && c.DevSignInPath == "" {
		o := *c.OIDC
		if o.Scopes == "" {
			o.Scopes = DefaultScopes
		}
		if o.HTTPClient == nil {
			o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
		}
		h.oidc = &o
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.page)
	mux.HandleFunc("GET /playground/config.json", h.config)
	mux.HandleFunc("GET /playground/assets/{file}", h.asset)
	return mux
}

type handler struct {
	cfg  Config
	oidc *OIDC

	mu      sync.Mutex
	origins []string // connect-src origins of the issuer, once discovered
}

// noncePlaceholder is replaced in the page by the response's style nonce.
const noncePlaceholder = "__CSP_NONCE__"

// page serves index.html with a fresh nonce: the Content-Security-Policy
// allows the style elements carrying it (the page adds some at run time,
// e.g. to lock scrolling under a dialog) and no other inline style.
func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	a, err := assets()
	f, ok := a["index.html"]
	if err != nil || !ok {
		http.Error(w, "playground assets unavailable", http.StatusInternalServerError)
		return
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		http.Error(w, "playground unavailable", http.StatusInternalServerError)
		return
	}
	nonce := base64.StdEncoding.EncodeToString(b)
	h.securityHeaders(w, r, nonce)
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(bytes.ReplaceAll(f.body, []byte(noncePlaceholder), []byte(nonce)))
}

func (h *handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" {
		http.NotFound(w, r)
		return
	}
	h.serve(w, r, name)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, name string) {
	a, err := assets()
	if err != nil {
		http.Error(w, "playground assets unavailable", http.StatusInternalServerError)
		return
	}
	f, ok := a[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.securityHeaders(w, r, "")
	w.Header().Set("Content-Type", f.contentType)
	// Revalidate every time: a new binary serves new assets under the
	// same names.
	w.Header().Set("Cache-Control", "no-cache")
	body, etag := f.body, f.etag
	if f.gzipped != nil {
		w.Header().Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = f.gzipped, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			w.Header().Set("Content-Encoding", "gzip")
		}
	}
	w.Header().Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && match == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

// pageConfig is what the page reads from /playground/config.json.
type pageConfig struct {
	Endpoint  string      `json:"endpoint"`
	DevSignIn string      `json:"devSignIn,omitempty"`
	OIDC      *oidcConfig `json:"oidc,omitempty"`
}

type oidcConfig struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"clientId"`
	Scopes   string `json:"scopes"`
}

func (h *handler) config(w http.ResponseWriter, r *http.Request) {
	c := pageConfig{Endpoint: h.cfg.Endpoint, DevSignIn: h.cfg.DevSignInPath}
	if h.oidc != nil {
		c.OIDC = &oidcConfig{Issuer: h.oidc.Issuer, ClientID: h.oidc.ClientID, Scopes: h.oidc.Scopes}
	}
	h.securityHeaders(w, r, "")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(c)
}

// securityHeaders sets the Content-Security-Policy and its companions:
// scripts, styles, fonts and images only from this origin (fonts and
// images also inline as data: URIs, which is how the bundle carries them),
// connections only to this origin (HTTP and WebSocket) plus, with an
// external issuer, the issuer's and its token endpoint's origins. A
// non-empty nonce also allows style elements that carry it.
func (h *handler) securityHeaders(w http.ResponseWriter, r *http.Request, nonce string) {
	connect := "'self'"
	for _, o := range h.issuerOrigins(r.Context()) {
		connect += " " + o
	}
	style := "'self'"
	if nonce != "" {
		style += " 'nonce-" + nonce + "'"
	}
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src " + style,
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src " + connect,
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	// The authorization code arrives in the page's URL: send it nowhere.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
}

// issuerOrigins returns the origins the page must reach for the OIDC
// login: the issuer's (discovery) and its token endpoint's, the latter
// read from the discovery document once it could be fetched.
func (h *handler) issuerOrigins(ctx context.Context) []string {
	if h.oidc == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.origins != nil {
		return h.origins
	}
	var out []string
	iss := origin(h.oidc.Issuer)
	if iss != "" {
		out = append(out, iss)
	}
	found, err := tokenEndpointOrigin(ctx, h.oidc.HTTPClient, h.oidc.Issuer)
	if err != nil {
		// Not cached: the next page load tries again.
		return out
	}
	if found != iss {
		out = append(out, found)
	}
	h.origins = out
	return out
}

func tokenEndpointOrigin(ctx context.Context, client *http.Client, issuer string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("discovery request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discovery: HTTP %d", resp.StatusCode)
	}
	var doc struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("discovery document: %w", err)
	}
	o := origin(doc.TokenEndpoint)
	if o == "" {
		return "", fmt.Errorf("discovery document: no usable token_endpoint")
	}
	return o, nil
}

// origin returns scheme://host[:port] of an absolute http(s) URL, or "".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
