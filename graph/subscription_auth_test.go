package graph_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/internal/viewer"
)

// wsOpen dials /query, sends connection_init with token and, when it is
// acknowledged, subscribes to the audit feed. It returns the connection, or
// ok false and the connection's close status when init was refused.
func wsOpen(t *testing.T, ctx context.Context, baseURL, token string) (c *websocket.Conn, ok bool, refused websocket.StatusCode) {
	t.Helper()
	var err error
	c, _, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/query",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(websocket.StatusNormalClosure, "") })
	if err := wsjson.Write(ctx, c, map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": token}}); err != nil {
		t.Fatal(err)
	}
	var ack map[string]any
	if err := wsjson.Read(ctx, c, &ack); err != nil || ack["type"] != "connection_ack" {
		if err == nil {
			code, _ := closeCode(t, ctx, c)
			return c, false, code
		}
		return c, false, websocket.CloseStatus(err)
	}
	q := `subscription { auditEvents { seq } }`
	if err := wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": q}}); err != nil {
		t.Fatal(err)
	}
	return c, true, 0
}

// closeCode reads until the server closes c and returns the close status
// and reason.
func closeCode(t *testing.T, ctx context.Context, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	for {
		var msg map[string]any
		err := wsjson.Read(ctx, c, &msg)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if code := websocket.CloseStatus(err); code != -1 {
			if errors.As(err, &ce) {
				return code, ce.Reason
			}
			return code, ""
		}
		t.Fatalf("connection ended without a close frame: %v", err)
	}
}

// TestSubscriptionsEndWithCredentials: a WebSocket connection is closed
// 4401 when its token expires and 4403 when its user is deactivated or
// loses a role it connected with; a bad token at connection_init is 4401.
func TestSubscriptionsEndWithCredentials(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.StartWith(t, d, func(c *app.ServeConfig) {
				c.Guards.SubscriptionRecheck = 100 * time.Millisecond
			})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			sys := viewer.SystemContext(ctx)
			mint := func(as string, ttl time.Duration) string {
				tok, err := app.MintFor(ctx, s.DB.Client, s.DevIssuer, as, ttl)
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}

			t.Run("invalid token at init", func(t *testing.T) {
				for _, tok := range []string{"garbage", mint("member:acme", time.Hour) + "x"} {
					_, ok, code := wsOpen(t, ctx, s.URL, tok)
					if ok {
						t.Fatalf("connection_init with %q acknowledged", tok[:5])
					}
					if code != 4401 {
						t.Fatalf("close code %d, want 4401", code)
					}
				}
			})

			t.Run("token expires", func(t *testing.T) {
				for _, as := range []string{"operator", "admin:acme", "member:globex"} {
					c, ok, _ := wsOpen(t, ctx, s.URL, mint(as, 2*time.Second))
					if !ok {
						t.Fatalf("%s: not acknowledged", as)
					}
					code, reason := closeCode(t, ctx, c)
					if code != 4401 || !strings.Contains(reason, "expired") {
						t.Fatalf("%s: close %d %q, want 4401 token expired", as, code, reason)
					}
				}
			})

			t.Run("membership lost", func(t *testing.T) {
				tok := mint("admin:acme", time.Hour)
				c, ok, _ := wsOpen(t, ctx, s.URL, tok)
				if !ok {
					t.Fatal("not acknowledged")
				}
				u := s.DB.Client.User.Query().Where(user.HasMembershipsWith(membership.RoleEQ(membership.RoleAdmin),
					membership.HasTenantWith(tenant.Slug("acme")))).FirstX(sys)
				s.DB.Client.Membership.Delete().Where(membership.UserID(u.ID), membership.HasTenantWith(tenant.Slug("acme"))).ExecX(sys)
				if code, _ := closeCode(t, ctx, c); code != 4403 {
					t.Fatalf("close code %d, want 4403", code)
				}
			})

			t.Run("user deactivated", func(t *testing.T) {
				tok := mint("member:globex", time.Hour)
				c, ok, _ := wsOpen(t, ctx, s.URL, tok)
				if !ok {
					t.Fatal("not acknowledged")
				}
				u := s.DB.Client.User.Query().Where(user.HasMembershipsWith(membership.RoleEQ(membership.RoleMember),
					membership.HasTenantWith(tenant.Slug("globex")))).FirstX(sys)
				s.DB.Client.User.UpdateOneID(u.ID).SetActive(false).ExecX(sys)
				if code, _ := closeCode(t, ctx, c); code != 4403 {
					t.Fatalf("close code %d, want 4403", code)
				}
				// Reconnecting with the same (unexpired) token is refused.
				_, ok, code := wsOpen(t, ctx, s.URL, tok)
				if ok {
					t.Fatal("deactivated user acknowledged")
				}
				if code != 4403 {
					t.Fatalf("reconnect close code %d, want 4403", code)
				}
			})
		})
	}
}
