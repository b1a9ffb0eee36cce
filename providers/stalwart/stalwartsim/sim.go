package stalwartsim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dezky/platform/providers/internal/simfault"
)

// Options configures a simulator.
type Options struct {
	// Token is accepted as "Authorization: Bearer <Token>".
	Token string
	// AdminUser/AdminPassword are accepted as HTTP Basic credentials.
	AdminUser     string
	AdminPassword string
	// Hostname is the mail server's host name used in MX/SRV/CNAME records
	// (default "mail.example.test").
	Hostname string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives debug lines (default: discard).
	Logger *slog.Logger
	// Webhook* configure a static webhook as the TOML configuration would.
	WebhookURL    string
	WebhookKey    string
	WebhookEvents []string // empty = all events
	// HTTPClient delivers webhooks (default: 10 s timeout).
	HTTPClient *http.Client
	// DKIMAlgorithms generated for Automatic DKIM: "Ed25519" and/or "Rsa"
	// (default Ed25519 only).
	DKIMAlgorithms []string
}

const accountID = "b"

// Sim is a simulated Stalwart 0.16 server.
type Sim struct {
	mu   sync.Mutex
	opts Options

	faults       simfault.Faults
	methodFaults methodFaults
	handler      http.Handler // request handling behind fault injection

	seq      uint64
	state    uint64
	eventSeq uint64

	domains  map[string]*domain
	accounts map[string]*account
	dkims    map[string]*dkimSig
	webhooks map[string]*webhook
	pending  []string // domain ids awaiting DKIM generation
}

// New returns an empty simulator.
func New(opts Options) *Sim {
	if opts.Hostname == "" {
		opts.Hostname = "mail.example.test"
	}
	opts.Hostname = strings.TrimSuffix(strings.ToLower(opts.Hostname), ".")
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if len(opts.DKIMAlgorithms) == 0 {
		opts.DKIMAlgorithms = []string{"Ed25519"}
	}
	s := &Sim{opts: opts, domains: map[string]*domain{}, accounts: map[string]*account{},
		dkims: map[string]*dkimSig{}, webhooks: map[string]*webhook{}}
	if opts.WebhookURL != "" {
		wh := &webhook{id: s.newID(), url: opts.WebhookURL, enable: true, signatureKey: opts.WebhookKey, events: map[string]bool{}}
		for _, e := range opts.WebhookEvents {
			wh.events[e] = true
		}
		s.webhooks[wh.id] = wh
	}
	s.handler = s.faults.Wrap(http.HandlerFunc(s.serve), func(w http.ResponseWriter, st int) {
		problem(w, st, "about:blank", http.StatusText(st), "Injected failure")
	})
	return s
}

func (s *Sim) newID() string {
	s.seq++
	return strconv.FormatUint(s.seq+9, 36) // ids look like "a", "b", … "10"…
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.opts.Logger.Debug("stalwartsim request", "method", r.Method, "path", r.URL.Path)
	s.handler.ServeHTTP(w, r)
}

func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/.well-known/jmap":
		if r.Method != http.MethodGet {
			problem(w, http.StatusMethodNotAllowed, "about:blank", "Method Not Allowed", "")
			return
		}
		if !s.authorized(w, r) {
			return
		}
		s.session(w, r)
	case r.URL.Path == "/jmap" || r.URL.Path == "/jmap/":
		if r.Method != http.MethodPost {
			problem(w, http.StatusMethodNotAllowed, "about:blank", "Method Not Allowed", "")
			return
		}
		if !s.authorized(w, r) {
			return
		}
		s.jmap(w, r)
	default:
		problem(w, http.StatusNotFound, "about:blank", "Not Found", "The requested resource does not exist on this server.")
	}
}

func (s *Sim) authorized(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	ok := false
	switch strings.ToLower(scheme) {
	case "bearer":
		ok = s.opts.Token != "" && cred == s.opts.Token
	case "basic":
		if b, err := base64.StdEncoding.DecodeString(cred); err == nil {
			u, p, _ := strings.Cut(string(b), ":")
			ok = s.opts.AdminUser != "" && u == s.opts.AdminUser && p == s.opts.AdminPassword
		}
	}
	if !ok {
		w.Header().Add("WWW-Authenticate", `Bearer realm="Stalwart Server"`)
		w.Header().Add("WWW-Authenticate", `Basic realm="Stalwart Server"`)
		problem(w, http.StatusUnauthorized, "about:blank", "Unauthorized", "You have to authenticate first.")
	}
	return ok
}

func (s *Sim) session(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host
	s.mu.Lock()
	st := strconv.FormatUint(s.state, 10)
	s.mu.Unlock()
	caps := map[string]any{
		"urn:ietf:params:jmap:core": map[string]any{"maxSizeUpload": 50000000, "maxConcurrentUpload": 4,
			"maxSizeRequest": 10000000, "maxConcurrentRequests": 4, "maxCallsInRequest": 16,
			"maxObjectsInGet": 500, "maxObjectsInSet": 500, "collationAlgorithms": []string{"i;ascii-numeric", "i;ascii-casemap"}},
		"urn:stalwart:jmap": map[string]any{},
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"capabilities": caps,
		"accounts": map[string]any{accountID: map[string]any{"name": "admin", "isPersonal": true, "isReadOnly": false,
			"accountCapabilities": map[string]any{"urn:stalwart:jmap": map[string]any{}}}},
		"primaryAccounts": map[string]string{"urn:ietf:params:jmap:core": accountID, "urn:stalwart:jmap": accountID},
		"username":        "admin",
		"apiUrl":          base + "/jmap/",
		"downloadUrl":     base + "/jmap/download/{accountId}/{blobId}/{name}?accept={type}",
		"uploadUrl":       base + "/jmap/upload/{accountId}/",
		"eventSourceUrl":  base + "/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}",
		"state":           st,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, typ, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": typ, "status": status, "title": title, "detail": detail})
}

// --- faults ---

// methodFaults holds injected JMAP method-level errors.
type methodFaults struct {
	mu   sync.Mutex
	next []methodFault
}

type methodFault struct{ method, errType string }

// FailNext makes the next HTTP request with a matching method (empty = any) and
// path prefix (e.g. "/jmap") fail with status and a problem+json body. Each fault
// fires once.
func (s *Sim) FailNext(method, pathPrefix string, status int) {
	s.faults.FailNext(method, pathPrefix, status)
}

// FailNextMethod makes the next JMAP call of method (e.g. "x:Domain/set") answer a
// method-level error of errType (e.g. "serverUnavailable"). Each fault fires once.
func (s *Sim) FailNextMethod(method, errType string) {
	s.methodFaults.mu.Lock()
	defer s.methodFaults.mu.Unlock()
	s.methodFaults.next = append(s.methodFaults.next, methodFault{method, errType})
}

// SetDelay delays every request by d (0 disables).
func (s *Sim) SetDelay(d time.Duration) { s.faults.SetDelay(d) }

// SetOutage makes every request fail with status and a problem+json body until
// it is called with 0 (or ClearFaults), simulating an upstream outage.
func (s *Sim) SetOutage(status int) { s.faults.SetOutage(status) }

// ClearFaults removes pending faults, the delay and any outage.
func (s *Sim) ClearFaults() {
	s.faults.ClearFaults()
	s.methodFaults.mu.Lock()
	defer s.methodFaults.mu.Unlock()
	s.methodFaults.next = nil
}

func (f *methodFaults) take(method string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, x := range f.next {
		if x.method == method {
			f.next = append(f.next[:i:i], f.next[i+1:]...)
			return x.errType, true
		}
	}
	return "", false
}

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 10_000_000))
}

// ctxDone reports whether ctx is finished.
func ctxDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
