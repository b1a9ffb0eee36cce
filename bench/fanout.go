package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/dezky/platform/internal/audit"
)

// fanout opens n auditEvents subscriptions over GraphQL websockets (as
// the operator, from the current head on), changes a tenant o.rounds
// times, and measures, for each change, the time from the mutation's
// answer to each subscriber's receipt of its audit event: p50 and p99
// over all deliveries. There is no baseline; the target is a p99
// of 100 ms.
func (e *env) fanout(ctx context.Context, o options, n int) ([]row, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	head, _, err := audit.Head(ctx, e.srv.DB)
	if err != nil {
		return nil, err
	}
	ws := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/query"
	got := make(chan time.Time, n*(o.rounds+1))
	var conns []*websocket.Conn
	defer func() {
		for _, c := range conns {
			c.Close(websocket.StatusNormalClosure, "")
		}
	}()
	query := fmt.Sprintf(`subscription { auditEvents(afterSeq: %d, where: {actionHasPrefix: "tenant."}) { seq action } }`, head)
	for range n {
		c, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			return nil, fmt.Errorf("dial: %w", err)
		}
		conns = append(conns, c)
		if err := wsjson.Write(ctx, c, map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": e.operator}}); err != nil {
			return nil, err
		}
		var ack struct{ Type string }
		if err := wsjson.Read(ctx, c, &ack); err != nil || ack.Type != "connection_ack" {
			return nil, fmt.Errorf("connection_init: %s %v", ack.Type, err)
		}
		if err := wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query}}); err != nil {
			return nil, err
		}
		go func() {
			for {
				var msg struct {
					Type    string
					Payload struct {
						Data struct {
							AuditEvents struct{ Action string }
						}
					}
				}
				if err := wsjson.Read(ctx, c, &msg); err != nil {
					return
				}
				if msg.Type == "next" && msg.Payload.Data.AuditEvents.Action != "" {
					got <- time.Now()
				}
			}
		}()
	}
	// Every subscription is established once a change reaches everyone;
	// the first change is the warm-up.
	const rename = `mutation($name: String!) { updateTenant(slug: "bench-000002", input: {name: $name}) { slug } }`
	var lat []time.Duration
	for r := range o.rounds + 1 {
		start := time.Now()
		if err := post(ctx, e.srv.URL+"/query", e.operator, gql(rename, map[string]any{"name": fmt.Sprintf("Fan-out %d", r)})); err != nil {
			return nil, err
		}
		for i := range n {
			select {
			case at := <-got:
				if r > 0 {
					lat = append(lat, at.Sub(start))
				}
			case <-time.After(30 * time.Second):
				return nil, fmt.Errorf("round %d: %d of %d subscribers received the event", r, i, n)
			}
		}
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	return []row{{name: fmt.Sprintf("%s: live audit fan-out, %d GraphQL subscribers, one change, p50 / p99 from the mutation's start", e.dialect, n),
		ours: ms(p(0.5)) + " / " + ms(p(0.99)), base: "target: p99 ≤ 100 ms", ratio: float64(p(0.99)) / float64(100*time.Millisecond)}}, nil
}
