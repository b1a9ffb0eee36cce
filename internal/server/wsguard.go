package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/dezky/platform/internal/authn"
	"github.com/dezky/platform/internal/viewer"
)

// WebSocket close codes of the GraphQL endpoint. 4401 and 4403 end a
// connection whose credentials no longer hold: the client must not retry
// with the same token. 1013 (try again later) ends one the server could not
// authenticate for a passing reason (database or issuer outage): the client
// reconnects with the same token after a pause.
const (
	CloseTokenExpired = 4401
	CloseForbidden    = 4403
	CloseTryAgain     = 1013
)

// DefaultSubscriptionRecheck is how often a WebSocket connection re-checks
// that its user is still active and still holds the roles it connected
// with.
const DefaultSubscriptionRecheck = 30 * time.Second

// wsHolderKey carries a *wsHolder in a WebSocket request's context, so the
// connection_init handler can close the connection it belongs to.
type wsHolderKey struct{}

// wsHolder is the accepted WebSocket connection of one request.
type wsHolder struct {
	mu   sync.Mutex
	conn transport.WebsocketConn
}

func (h *wsHolder) set(c transport.WebsocketConn) {
	h.mu.Lock()
	h.conn = c
	h.mu.Unlock()
}

// close closes the connection with code and reason; it is a no-op when no
// connection was accepted.
func (h *wsHolder) close(code int, reason string) {
	h.mu.Lock()
	c := h.conn
	h.mu.Unlock()
	if c != nil {
		_ = c.WriteClose(code, reason)
		_ = c.Close()
	}
}

// withWSHolder gives every request a holder for its WebSocket connection.
func withWSHolder(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), wsHolderKey{}, &wsHolder{})))
	})
}

// holdingImpl records the accepted connection in the request's holder.
type holdingImpl struct {
	inner transport.WebsocketImplementation
}

func (i holdingImpl) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := i.inner.Accept(w, r, o)
	if err == nil {
		if h, ok := r.Context().Value(wsHolderKey{}).(*wsHolder); ok {
			h.set(c)
		}
	}
	return c, err
}

// wsInit authenticates connection_init with the same classification as the
// HTTP middleware: a rejected token or account closes 4401 (4403 for a
// deactivated account), an outage closes 1013 so clients keep valid tokens.
// An accepted connection is watched until it ends: it is closed 4401 when
// the token expires and 4403 when a re-check finds the user deactivated or
// with fewer roles than it connected with.
func wsInit(c Config) transport.WebsocketInitFunc {
	recheck := c.SubscriptionRecheck
	if recheck <= 0 {
		recheck = DefaultSubscriptionRecheck
	}
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		token := strings.TrimPrefix(p.Authorization(), "Bearer ")
		if token == "" {
			token = p.GetString("authToken")
		}
		if token == "" {
			return ctx, nil, nil
		}
		ip, _ := ctx.Value(peerIPKey{}).(string)
		v, exp, err := c.Auth.ViewerUntil(ctx, token, ip)
		if err != nil {
			code, reason := wsRejection(err)
			if code == CloseTryAgain {
				c.Log.ErrorContext(ctx, "websocket authenticate", "err", err)
			}
			ctx = transport.WithWebsocketCloseCode(ctx, code)
			ctx = transport.AppendCloseReason(ctx, reason)
			return ctx, nil, errors.New(reason)
		}
		if h, ok := ctx.Value(wsHolderKey{}).(*wsHolder); ok {
			go watchCredentials(ctx, c.Auth, c.Log, h, token, ip, v, exp, recheck)
		}
		return viewer.NewContext(ctx, v), nil, nil
	}
}

// wsRejection classifies an authentication error into a close code and a
// reason (at most 123 bytes, the WebSocket limit).
func wsRejection(err error) (int, string) {
	switch {
	case IsDisabled(err):
		return CloseForbidden, "account disabled"
	case isUnauthenticated(err) && !errors.Is(err, authn.ErrIssuerUnavailable):
		return CloseTokenExpired, "invalid or expired token: reconnect with a fresh token"
	default:
		return CloseTryAgain, "authentication temporarily unavailable: retry later"
	}
}

// watchCredentials closes the connection of h when the token expires or a
// periodic re-check no longer grants what the connection was opened with.
// It returns when ctx (the connection) ends.
func watchCredentials(ctx context.Context, auth *Authenticator, log *slog.Logger, h *wsHolder, token, ip string, v *viewer.Viewer, exp time.Time, every time.Duration) {
	var expired <-chan time.Time
	if !exp.IsZero() {
		t := time.NewTimer(time.Until(exp))
		defer t.Stop()
		expired = t.C
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-expired:
			h.close(CloseTokenExpired, "token expired: reconnect with a fresh token")
			return
		case <-tick.C:
			now, err := auth.Viewer(ctx, token, ip)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				code, reason := wsRejection(err)
				if code == CloseTryAgain {
					log.ErrorContext(ctx, "websocket re-check", "err", err)
				}
				h.close(code, reason)
				return
			}
			if !covers(now, v) {
				h.close(CloseForbidden, "access changed: reconnect to subscribe with the current roles")
				return
			}
		}
	}
}

// covers reports whether now still grants everything was granted.
func covers(now, was *viewer.Viewer) bool {
	if now.UserID != was.UserID || (was.Operator && !now.Operator) || (was.PartnerID != 0 && now.PartnerID != was.PartnerID) {
		return false
	}
	return subsetRoles(was.Tenants, now.Tenants)
}

// subsetRoles reports whether every tenant role in was is still held in now.
func subsetRoles(was, now map[int]viewer.Role) bool {
	for id, r := range was {
		if now[id] != r {
			return false
		}
	}
	return true
}
