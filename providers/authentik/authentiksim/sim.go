package authentiksim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dezky/platform/providers/internal/simfault"
)

// Version is the authentik version the simulator reports.
const Version = "2026.2.2"

// Options configures a simulator.
type Options struct {
	// Token is the admin API token (required).
	Token string
	// PublicURL is the externally visible base URL used in recovery links and OIDC
	// issuers (default "https://auth.example.test").
	PublicURL string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
}

// Sim is a simulated Authentik instance. Create it with New.
type Sim struct {
	mu   sync.Mutex
	opts Options
	mux  *http.ServeMux

	faults  simfault.Faults
	handler http.Handler // mux behind fault injection and authorization

	nextUserPK     int
	nextGroupNum   int
	nextProviderPK int

	users          map[int]*user
	groups         map[string]*group
	sessions       map[string]*session
	devices        map[string]*device
	providers      map[int]*provider
	apps           map[string]*application // by slug
	policyBindings map[string]*policyBinding
	flows          map[string]*flow // by pk
	stages         map[string]*stage
	flowBindings   map[string]*flowBinding
	brands         map[string]*brand
	events         []*event
	recoveryTokens map[int]string
	passwords      map[int]string
}

// New returns a simulator seeded like a fresh authentik install.
func New(opts Options) *Sim {
	if opts.PublicURL == "" {
		opts.PublicURL = "https://auth.example.test"
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sim{
		opts:           opts,
		nextUserPK:     1,
		nextGroupNum:   1,
		nextProviderPK: 1,
		users:          map[int]*user{},
		groups:         map[string]*group{},
		sessions:       map[string]*session{},
		devices:        map[string]*device{},
		providers:      map[int]*provider{},
		apps:           map[string]*application{},
		policyBindings: map[string]*policyBinding{},
		flows:          map[string]*flow{},
		stages:         map[string]*stage{},
		flowBindings:   map[string]*flowBinding{},
		brands:         map[string]*brand{},
		recoveryTokens: map[int]string{},
		passwords:      map[int]string{},
	}
	s.seed()
	s.routes()
	s.handler = s.faults.Wrap(http.HandlerFunc(s.serve), func(w http.ResponseWriter, st int) {
		writeJSON(w, st, map[string]any{"detail": http.StatusText(st)})
	})
	return s
}

func (s *Sim) seed() {
	now := s.opts.Now().UTC()
	admin := &user{pk: s.nextUserPK, uuid: newUUID(), username: "akadmin", name: "authentik Default Admin",
		email: "admin@example.test", isActive: true, isSuperuser: true, typ: "internal", path: "users",
		attributes: map[string]any{}, groups: map[string]bool{}, dateJoined: now, lastUpdated: now}
	s.nextUserPK++
	s.users[admin.pk] = admin
	admins := &group{pk: newUUID(), num: s.nextGroupNum, name: "authentik Admins", isSuperuser: true,
		attributes: map[string]any{}}
	s.nextGroupNum++
	s.groups[admins.pk] = admins
	admin.groups[admins.pk] = true

	for _, f := range []struct{ slug, name, designation, auth string }{
		{"default-authentication-flow", "Welcome to authentik!", "authentication", "none"},
		{"default-invalidation-flow", "Logout", "invalidation", "none"},
		{"default-provider-authorization-implicit-consent", "Authorize Application", "authorization", "require_authenticated"},
		{"default-provider-authorization-explicit-consent", "Authorize Application", "authorization", "require_authenticated"},
		{"default-provider-invalidation-flow", "Logged out of application", "invalidation", "none"},
	} {
		fl := &flow{pk: newUUID(), slug: f.slug, name: f.name, title: f.name, designation: f.designation, authentication: f.auth}
		s.flows[fl.pk] = fl
	}
	for _, st := range []struct{ name, component string }{
		{"default-authentication-identification", "ak-stage-identification-form"},
		{"default-authentication-password", "ak-stage-password-form"},
		{"default-authentication-login", "ak-stage-user-login-form"},
		{"default-password-change-prompt", "ak-stage-prompt-form"},
		{"default-password-change-write", "ak-stage-user-write-form"},
	} {
		x := &stage{pk: newUUID(), name: st.name, component: st.component}
		s.stages[x.pk] = x
	}
	b := &brand{uuid: newUUID(), domain: "authentik-default", isDefault: true}
	b.flowAuthentication = s.flowBySlug("default-authentication-flow").pk
	b.flowInvalidation = s.flowBySlug("default-invalidation-flow").pk
	s.brands[b.uuid] = b
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.opts.Logger.Debug("authentiksim request", "method", r.Method, "path", r.URL.Path)
	s.handler.ServeHTTP(w, r)
}

// serve handles one request at a time: every handler runs under s.mu and
// sees and changes the state as a whole, like a transaction.
func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/v3/") {
		if !s.authorized(w, r) {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mux.ServeHTTP(w, r)
}

// with serves the object named by the request path: h gets the object
// find returns, and the answer is authentik's 404 when there is none.
func with[T any](find func(*http.Request) *T, h func(http.ResponseWriter, *http.Request, *T)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		x := find(r)
		if x == nil {
			notFound(w)
			return
		}
		h(w, r, x)
	}
}

// pathPK returns the integer path value pk, or -1 (which no object has).
func pathPK(r *http.Request) int {
	pk, err := strconv.Atoi(r.PathValue("pk"))
	if err != nil {
		return -1
	}
	return pk
}

func (s *Sim) authorized(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if h == "" {
		writeJSON(w, http.StatusForbidden, map[string]any{"detail": "Authentication credentials were not provided."})
		return false
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "bearer") {
		writeJSON(w, http.StatusForbidden, map[string]any{"detail": "Unsupported authentication type"})
		return false
	}
	if tok != s.opts.Token {
		writeJSON(w, http.StatusForbidden, map[string]any{"detail": "Token invalid/expired"})
		return false
	}
	return true
}

// FailNext makes the next request whose method matches (empty = any) and whose URL
// path starts with pathPrefix (e.g. "/api/v3/core/users/") fail with status and an
// authentik-style {"detail":…} body. Faults queue up and each fires once.
func (s *Sim) FailNext(method, pathPrefix string, status int) {
	s.faults.FailNext(method, pathPrefix, status)
}

// SetDelay makes every request wait d before being handled (0 disables). A request
// whose context ends while waiting is dropped.
func (s *Sim) SetDelay(d time.Duration) { s.faults.SetDelay(d) }

// SetOutage makes every request fail with status and a authentik-style {"detail":…} body until
// it is called with 0 (or ClearFaults), simulating an upstream outage.
func (s *Sim) SetOutage(status int) { s.faults.SetOutage(status) }

// ClearFaults removes pending faults, the delay and any outage.
func (s *Sim) ClearFaults() { s.faults.ClearFaults() }

// --- HTTP helpers ---

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not found."})
}

func fieldError(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{field: []string{msg}})
}

func required(w http.ResponseWriter, field string) {
	fieldError(w, field, "This field is required.")
}

// body decodes a JSON object body. An empty body is an empty object.
func body(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": "Could not read request body."})
		return nil, false
	}
	m := map[string]json.RawMessage{}
	if len(strings.TrimSpace(string(b))) == 0 {
		return m, true
	}
	if err := json.Unmarshal(b, &m); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": "JSON parse error - " + err.Error()})
		return nil, false
	}
	return m, true
}

func getString(w http.ResponseWriter, m map[string]json.RawMessage, field string, dst *string) bool {
	raw, ok := m[field]
	if !ok || string(raw) == "null" {
		return true
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		fieldError(w, field, "Not a valid string.")
		return false
	}
	return true
}

func getBool(w http.ResponseWriter, m map[string]json.RawMessage, field string, dst *bool) bool {
	raw, ok := m[field]
	if !ok {
		return true
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		fieldError(w, field, "Must be a valid boolean.")
		return false
	}
	return true
}

func getInt(w http.ResponseWriter, m map[string]json.RawMessage, field string, dst *int) bool {
	raw, ok := m[field]
	if !ok {
		return true
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		fieldError(w, field, "A valid integer is required.")
		return false
	}
	return true
}

func getObject(w http.ResponseWriter, m map[string]json.RawMessage, field string, dst *map[string]any) bool {
	raw, ok := m[field]
	if !ok {
		return true
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		fieldError(w, field, "Value must be valid JSON.")
		return false
	}
	*dst = v
	return true
}

// writeList writes one page of the items keep accepts, each rendered by render.
func writeList[T any](w http.ResponseWriter, r *http.Request, items []T, keep func(T) bool, render func(T) map[string]any) {
	var out []map[string]any
	for _, x := range items {
		if keep(x) {
			out = append(out, render(x))
		}
	}
	paginate(w, r, out)
}

// matches reports whether the query leaves key unset or sets it to v.
func matches(q url.Values, key, v string) bool { return !q.Has(key) || q.Get(key) == v }

// matchesBool reports whether the query leaves key unset or sets it to b,
// case-insensitively ("true", "False", …).
func matchesBool(q url.Values, key string, b bool) bool {
	return !q.Has(key) || strings.ToLower(q.Get(key)) == strconv.FormatBool(b)
}

// paginate writes one page of items following authentik's pagination.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) {
	q := r.URL.Query()
	size := 100
	if v := q.Get("page_size"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			size = min(n, 1000)
		}
	}
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Invalid page."})
			return
		}
		page = n
	}
	count := len(items)
	total := max(1, (count+size-1)/size)
	if page > total {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Invalid page."})
		return
	}
	lo := (page - 1) * size
	hi := min(lo+size, count)
	pg := map[string]int{"next": 0, "previous": 0, "count": count, "current": page, "total_pages": total,
		"start_index": 0, "end_index": hi}
	if count > 0 {
		pg["start_index"] = lo + 1
	}
	if page < total {
		pg["next"] = page + 1
	}
	if page > 1 {
		pg["previous"] = page - 1
	}
	results := make([]T, 0, hi-lo)
	results = append(results, items[lo:hi]...)
	writeJSON(w, http.StatusOK, map[string]any{"pagination": pg, "results": results, "autocomplete": map[string]any{}})
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func randomToken(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func hashedUID(pk int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("authentiksim-user-%d", pk)))
	return hex.EncodeToString(sum[:])
}
