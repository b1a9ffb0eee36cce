package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/argcheck"
	"github.com/dezky/platform/internal/authn"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/flags"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/ofrep"
	"github.com/dezky/platform/internal/ratelimit"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/web/playground"
)

// Config configures the HTTP handler.
type Config struct {
	Schema graphql.ExecutableSchema
	Client *ent.Client
	// Postgres selects PostgreSQL-specific locking (advisory locks).
	Postgres bool
	Auth     *Authenticator
	Log      *slog.Logger
	// Guards are the request limits and trust settings.
	Guards
	// Limiter meters operation cost per caller (extensions.cost,
	// Extensions are added to the GraphQL server before the built-in ones
	// (for example metrics and tracing, which then observe the whole
	// operation).
	Extensions []graphql.HandlerExtension
	// THROTTLED); nil reports cost without limiting.
	Limiter *ratelimit.Limiter
	// Persisted is the persisted-query manifest; nil: none.
	Persisted *PersistedQueries
	// Flags evaluates feature flags for OFREP (/ofrep/v1/...); nil: not served.
	Flags *flags.Service
	// AllowedOrigins are the WebSocket origin patterns (host[:port] globs).
	AllowedOrigins []string
	// Ready reports readiness for /readyz; nil means always ready.
	Ready func(ctx context.Context) error
	// Extra handlers mounted on the mux (path pattern → handler), such as
	// the development OIDC issuer.
	Mount map[string]http.Handler
	// Playground configures the playground page at / (sign-in).
	Playground playground.Config
	// AuthMount are extra handlers mounted behind the authentication
	// middleware (the viewer is in the request context).
	AuthMount map[string]http.Handler
}

// GraphQL returns the GraphQL handler (without the HTTP auth middleware;
// see Handler).
func GraphQL(c Config) *handler.Server {
	srv := handler.New(newPagedComplexity(c.Schema))
	readLimit := c.MaxBodyBytes
	if readLimit <= 0 {
		readLimit = DefaultMaxBodyBytes
	}
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		PayloadReadLimit:      &readLimit,
		Implementation: holdingImpl{inner: transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{OriginPatterns: c.AllowedOrigins},
		}},
		InitFunc: wsInit(c),
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	for _, ext := range c.Extensions {
		srv.Use(ext)
	}
	if !c.DisableIntrospection {
		srv.Use(extension.Introspection{})
	}
	if c.Persisted != nil {
		srv.Use(persistedGuard{p: c.Persisted})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	srv.Use(extension.FixedComplexityLimit(MaxComplexity))
	srv.Use(costMeter{limiter: c.Limiter})
	srv.Use(depthLimit{max: MaxDepth})
	srv.Use(budgetGuard{})
	srv.Use(argcheck.Extension{})
	srv.Use(mutationTx{client: c.Client, postgres: c.Postgres, log: c.Log})
	srv.AroundFields(fieldGuard(c.Guards))
	srv.SetErrorPresenter(presentError(c.Log))
	srv.SetRecoverFunc(recoverPanic(c.Log))
	return srv
}

// Handler returns the whole HTTP handler.
func Handler(c Config) http.Handler {
	mux := http.NewServeMux()
	gql := GraphQL(c)
	mux.Handle("/query", authenticate(c, bounded(c.Guards, withRateHeaders(withWSHolder(gql)))))
	if c.Flags != nil {
		mux.Handle("POST /ofrep/v1/evaluate/flags", authenticate(c, charged(c.Limiter, ofrep.Bulk(c.Flags, classify))))
		mux.Handle("POST /ofrep/v1/evaluate/flags/{key}", authenticate(c, charged(c.Limiter, ofrep.Single(c.Flags, classify))))
	}
	mux.Handle("GET /audit/export.csv", authenticate(c, auditExport(c)))
	pg := playground.Handler(c.Playground)
	mux.Handle("GET /{$}", pg)
	mux.Handle("GET /playground/", pg)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if c.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := c.Ready(ctx); err != nil {
				c.Log.WarnContext(ctx, "not ready", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				body := map[string]string{"status": "unavailable"}
				if db.IsSchemaError(err) { // the schema's state is no secret, and it tells the operator what to run
					body["reason"] = err.Error()
				}
				_ = json.NewEncoder(w).Encode(body)
				return
			}
		}
		w.Write([]byte(`{"status":"ready"}`))
	})
	for pattern, h := range c.Mount {
		mux.Handle(pattern, h)
	}
	for pattern, h := range c.AuthMount {
		mux.Handle(pattern, authenticate(c, h))
	}
	return requestID(mux)
}

// authenticate puts the viewer (or none, for anonymous requests) and the
// Idempotency-Key into the request context. A token that fails verification
// is answered 401 with a GraphQL error body.
func authenticate(c Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ip := ClientIP(r, c.TrustedProxies)
		if key := strings.TrimSpace(r.Header.Get("Idempotency-Key")); key != "" {
			if len(key) > 255 || inputcheck.Line(r.Header.Get("Idempotency-Key")) != nil {
				writeError(w, http.StatusBadRequest, apperr.BadUserInput, "Idempotency-Key must be at most 255 printable characters")
				return
			}
			ctx = withIdempotencyKey(ctx, key)
		}
		token, ok := authn.BearerToken(r.Header)
		if !ok {
			if r.Header.Get("Authorization") != "" {
				writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, "malformed Authorization header: want Bearer <token>")
				return
			}
			// Anonymous: WebSocket clients authenticate in connection_init;
			// carry the IP for it.
			next.ServeHTTP(w, r.WithContext(withPeerIP(ctx, ip)))
			return
		}
		v, err := c.Auth.Viewer(ctx, token, ip)
		if err != nil {
			if isUnauthenticated(err) && !errors.Is(err, authn.ErrIssuerUnavailable) {
				writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, "invalid or expired token")
				return
			}
			c.Log.ErrorContext(ctx, "authenticate", "err", err)
			writeError(w, http.StatusServiceUnavailable, apperr.Unavailable, "authentication temporarily unavailable")
			return
		}
		next.ServeHTTP(w, r.WithContext(viewer.NewContext(ctx, v)))
	})
}

type peerIPKey struct{}

func withPeerIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, peerIPKey{}, ip)
}

func writeError(w http.ResponseWriter, status int, code apperr.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer`)
	}
	w.WriteHeader(status)
	ext := map[string]any{"code": string(code)}
	if id := w.Header().Get(RequestIDHeader); id != "" {
		ext["requestId"] = id
	}
	b, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{"message": msg, "extensions": ext}}})
	w.Write(b)
}
