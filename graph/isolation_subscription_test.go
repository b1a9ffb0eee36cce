package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dezky/platform/graph"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// sentinelTenant is a tenant each role sees, changed after the foreign
// world so that its event marks the end of what the role may receive.
var sentinelTenant = map[string]string{
	"admin:acme": "acme", "member:acme": "acme", "partner:northwind": "acme",
	"admin:globex": "globex", "member:globex": "globex",
}

// TestIsolationSubscriptions walks every subscription field of the
// schema, for every non-operator role: the subscription replays from the
// start and then lives through a change of the foreign tenant followed by
// a change of a tenant the role sees. Nothing of the foreign world may
// arrive; a refused subscription must be refused with a code.
func TestIsolationSubscriptions(t *testing.T) {
	schema := graph.NewSchema(graph.Services{}).Schema()
	if schema.Subscription == nil {
		t.Fatal("schema has no subscriptions")
	}
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			w := buildForeignWorld(t, s)
			fields := append(ast.FieldList{}, schema.Subscription.Fields...)
			sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
			covered := 0
			seats := 30
			for _, f := range fields {
				if strings.HasPrefix(f.Name, "__") {
					continue
				}
				var args []string
				for _, a := range f.Arguments {
					v, ok := w.argValue(f.Name, a, schema)
					if !ok {
						t.Fatalf("isolation test cannot target Subscription.%s(%s: %s): teach argValue about it", f.Name, a.Name, a.Type)
					}
					if v != "" {
						args = append(args, a.Name+": "+v)
					}
				}
				call := f.Name
				if len(args) > 0 {
					call += "(" + strings.Join(args, ", ") + ")"
				}
				q := fmt.Sprintf("subscription { %s %s }", call, selection(schema, f.Type, 0))
				covered++
				for _, role := range isolationRoles {
					t.Run("Subscription."+f.Name+"/"+role, func(t *testing.T) {
						ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
						defer cancel()
						c := wsSubscribe(t, ctx, s.URL, s.Token(role), q)
						seats++
						s.Query("operator", fmt.Sprintf(`mutation { updateTenant(slug: %q, input: {seats: %d}) { id } }`, w.tenant.Slug, seats), nil).Decode(t, &struct{}{})
						s.Query("operator", fmt.Sprintf(`mutation { updateTenant(slug: %q, input: {seats: %d}) { id } }`, sentinelTenant[role], seats), nil).Decode(t, &struct{}{})
						// Members see no audit events, so no sentinel reaches them:
						// their stream is read for a while after both changes.
						readCtx := ctx
						if strings.HasPrefix(role, "member:") {
							var stop context.CancelFunc
							readCtx, stop = context.WithTimeout(ctx, 5*time.Second)
							defer stop()
						}
						for {
							var msg struct {
								Type    string          `json:"type"`
								Payload json.RawMessage `json:"payload"`
							}
							if err := wsjson.Read(readCtx, c, &msg); err != nil {
								if readCtx != ctx && readCtx.Err() != nil {
									return
								}
								t.Fatalf("%s: no end of stream before the sentinel: %v", q, err)
							}
							body := string(msg.Payload)
							for _, m := range w.markers {
								if strings.Contains(body, m) && !strings.Contains(q, m) {
									t.Fatalf("subscription leaks %q of the foreign world:\n%s\n%s", m, q, body)
								}
							}
							switch msg.Type {
							case "error":
								if !strings.Contains(body, `"FORBIDDEN"`) && !strings.Contains(body, `"NOT_FOUND"`) {
									t.Fatalf("subscription refused without FORBIDDEN/NOT_FOUND: %s", body)
								}
								return
							case "complete":
								return
							case "next":
								if strings.Contains(body, `"errors"`) {
									if !strings.Contains(body, `"FORBIDDEN"`) && !strings.Contains(body, `"NOT_FOUND"`) {
										t.Fatalf("subscription error without FORBIDDEN/NOT_FOUND: %s", body)
									}
									return
								}
								if strings.Contains(body, `"`+sentinelTenant[role]+`"`) && strings.Contains(body, "tenant.updated") {
									return
								}
							}
						}
					})
				}
			}
			if covered != len(schema.Subscription.Fields) {
				t.Fatalf("covered %d of %d subscription fields", covered, len(schema.Subscription.Fields))
			}
		})
	}
}

// wsSubscribe opens an acknowledged connection and starts subscription q.
func wsSubscribe(t *testing.T, ctx context.Context, baseURL, token, q string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/query",
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
		t.Fatalf("connection_init: %v %v", ack, err)
	}
	if err := wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": q}}); err != nil {
		t.Fatal(err)
	}
	return c
}
