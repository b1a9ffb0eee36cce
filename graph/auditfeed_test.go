package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// feedEvent is one event of the auditEvents subscription.
type feedEvent struct {
	Seq        int64  `json:"seq"`
	Action     string `json:"action"`
	TenantSlug string `json:"tenantSlug"`
}

// subscribeAudit opens an auditEvents subscription on baseURL with token.
func subscribeAudit(t *testing.T, ctx context.Context, baseURL, token string, afterSeq int64, where string) func() (feedEvent, error) {
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
	q := fmt.Sprintf("subscription { auditEvents(afterSeq: %d%s) { seq action tenantSlug } }", afterSeq, where)
	if err := wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": q}}); err != nil {
		t.Fatal(err)
	}
	return func() (feedEvent, error) {
		var msg struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := wsjson.Read(ctx, c, &msg); err != nil {
			return feedEvent{}, err
		}
		if msg.Type != "next" {
			return feedEvent{}, fmt.Errorf("message %s: %s", msg.Type, msg.Payload)
		}
		var p struct {
			Data struct {
				AuditEvents feedEvent `json:"auditEvents"`
			} `json:"data"`
			Errors []any `json:"errors"`
		}
		if err := json.Unmarshal(msg.Payload, &p); err != nil || len(p.Errors) > 0 {
			return feedEvent{}, fmt.Errorf("payload %s: %v", msg.Payload, err)
		}
		return p.Data.AuditEvents, nil
	}
}

// readN reads n events and checks they continue the seq order after prev.
func readN(t *testing.T, next func() (feedEvent, error), n int, prev int64) []feedEvent {
	t.Helper()
	out := make([]feedEvent, 0, n)
	for i := 0; i < n; i++ {
		ev, err := next()
		if err != nil {
			t.Fatalf("event %d of %d: %v", i+1, n, err)
		}
		if ev.Seq <= prev {
			t.Fatalf("event seq %d after %d: out of order or repeated", ev.Seq, prev)
		}
		prev = ev.Seq
		out = append(out, ev)
	}
	return out
}

func TestAuditEventsSubscription(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// The seed is chained once the first checkpoint exists.
			var cp struct{ CreateAuditCheckpoint struct{ HeadSeq int64 } }
			s.Query("operator", `mutation { createAuditCheckpoint { headSeq } }`, nil).Decode(t, &cp)
			head := cp.CreateAuditCheckpoint.HeadSeq

			// Replay from the start, then live, with no gap or repeat.
			next := subscribeAudit(t, ctx, s.URL, s.Token("operator"), 0, "")
			replay := readN(t, next, int(head), 0)
			for i, ev := range replay {
				if ev.Seq != int64(i+1) {
					t.Fatalf("replay[%d].seq = %d, want %d (gap-free)", i, ev.Seq, i+1)
				}
			}
			for i := 0; i < 3; i++ {
				s.Query("operator", fmt.Sprintf(`mutation { updateTenant(slug: "globex", input: {seats: %d}) { id } }`, 20+i), nil).Decode(t, &struct{}{})
			}
			live := readN(t, next, 3, head)
			for _, ev := range live {
				if ev.Action != "tenant.updated" || ev.TenantSlug != "globex" {
					t.Fatalf("live event %+v", ev)
				}
			}

			// Reconnecting with the last seq received misses nothing.
			last := live[len(live)-1].Seq
			s.Query("operator", `mutation { suspendTenant(slug: "acme") { id } }`, nil).Decode(t, &struct{}{})
			again := subscribeAudit(t, ctx, s.URL, s.Token("operator"), last, "")
			if ev := readN(t, again, 1, last)[0]; ev.Action != "tenant.suspended" || ev.Seq != last+1 {
				t.Fatalf("after reconnect: %+v, want tenant.suspended at %d", ev, last+1)
			}

			// Visibility and filters as the query: acme's admin sees acme only.
			admin := subscribeAudit(t, ctx, s.URL, s.Token("admin:acme"), 0, `, where: {actionPrefix: "tenant."}`)
			for _, ev := range readN(t, admin, 2, 0) { // acme created, acme suspended
				if ev.TenantSlug != "acme" {
					t.Fatalf("acme admin received an event of %q", ev.TenantSlug)
				}
			}
		})
	}
}

// TestAuditEventsSubscriptionAcrossReplicas: a subscriber on one server
// receives events written and chained through another server on the same
// PostgreSQL database (LISTEN/NOTIFY).
func TestAuditEventsSubscriptionAcrossReplicas(t *testing.T) {
	a := testserver.Start(t, "postgres")
	b, err := app.Start(context.Background(), app.ServeConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		DatabaseURL: a.DB.URL(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var cp struct{ CreateAuditCheckpoint struct{ HeadSeq int64 } }
	a.Query("operator", `mutation { createAuditCheckpoint { headSeq } }`, nil).Decode(t, &cp)
	head := cp.CreateAuditCheckpoint.HeadSeq
	next := subscribeAudit(t, ctx, a.URL, a.Token("operator"), head, "")

	// Write through replica b with a token b accepts (its own dev issuer).
	tok, err := app.MintFor(context.Background(), b.DB.Client, b.DevIssuer, "operator", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	bs := testserver.Wrap(t, b)
	rsp := bs.Do(testserver.Request{Token: tok, Query: `mutation { suspendTenant(slug: "globex") { id } }`})
	if len(rsp.Errors) > 0 {
		t.Fatalf("write through replica b: %s", rsp.Body)
	}
	ev := readN(t, next, 1, head)[0]
	if ev.Action != "tenant.suspended" || ev.TenantSlug != "globex" {
		t.Fatalf("replica a streamed %+v", ev)
	}
}
