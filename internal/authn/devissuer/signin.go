package devissuer

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Persona is a demo user the sign-in endpoint offers.
type Persona struct {
	// As names the persona, e.g. "operator" or "admin:acme".
	As string `json:"as"`
	// Label describes it for people, e.g. "Tenant admin of acme".
	Label string `json:"label"`
	Email string `json:"email"`
}

// Directory is where the sign-in endpoint finds its personas.
type Directory interface {
	// Personas lists the personas one may sign in as.
	Personas(ctx context.Context) ([]Persona, error)
	// Claims returns the claims (all but TTL) of a token for the persona
	// as; an error wrapping ErrUnknownPersona when there is no such one.
	Claims(ctx context.Context, as string) (MintClaims, Persona, error)
}

// ErrUnknownPersona is returned (wrapped) by a Directory for a persona it
// does not know.
var ErrUnknownPersona = errors.New("unknown persona")

// SignInTTL is the lifetime of the tokens the sign-in endpoint mints; the
// playground renews them before they expire.
const SignInTTL = time.Hour

// SignInHandler is the development sign-in endpoint the playground's
// persona picker uses:
//
//	GET  → 200 {"personas": [{"as", "label", "email"}, …]}
//	POST {"as": "operator"} (Content-Type: application/json)
//	     → 200 {"accessToken", "tokenType": "Bearer", "expiresIn" (seconds), "email", "label"}
//	     → 404 {"error"} for an unknown persona, 400 for a malformed body
//
// Like the issuer itself it is for loopback use only: a request whose peer
// address is not a loopback address is refused (403), as is a POST from
// another origin (its Origin header names another host) or without a JSON
// body, which a cross-site form cannot send. Mount it only where the
// development issuer is the one the API trusts; with external issuers
// nothing may mint tokens.
func (i *Issuer) SignInHandler(dir Directory, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !loopbackPeer(r.RemoteAddr) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "the development sign-in answers loopback clients only"})
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			ps, err := dir.Personas(r.Context())
			if err != nil {
				log.ErrorContext(r.Context(), "development sign-in: list personas", "err", err)
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "listing demo users failed"})
				return
			}
			if ps == nil {
				ps = []Persona{}
			}
			writeJSON(w, http.StatusOK, map[string]any{"personas": ps})
		case http.MethodPost:
			i.signIn(w, r, dir, log)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		}
	})
}

func (i *Issuer) signIn(w http.ResponseWriter, r *http.Request, dir Directory, log *slog.Logger) {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-origin sign-in refused"})
			return
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "send a JSON body: {\"as\": \"operator\"}"})
		return
	}
	var body struct {
		As string `json:"as"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.As == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "send a JSON body: {\"as\": \"operator\"}"})
		return
	}
	claims, p, err := dir.Claims(r.Context(), body.As)
	if errors.Is(err, ErrUnknownPersona) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no demo user " + body.As})
		return
	}
	if err != nil {
		log.ErrorContext(r.Context(), "development sign-in", "as", body.As, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "sign-in failed"})
		return
	}
	claims.TTL = SignInTTL
	tok, err := i.Mint(claims)
	if err != nil {
		log.ErrorContext(r.Context(), "development sign-in: mint", "as", body.As, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "sign-in failed"})
		return
	}
	log.InfoContext(r.Context(), "development sign-in", "as", body.As, "email", p.Email)
	writeJSON(w, http.StatusOK, map[string]any{
		"accessToken": tok,
		"tokenType":   "Bearer",
		"expiresIn":   int(SignInTTL / time.Second),
		"email":       p.Email,
		"label":       p.Label,
	})
}

// loopbackPeer reports whether addr (host:port) is a loopback address.
func loopbackPeer(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
