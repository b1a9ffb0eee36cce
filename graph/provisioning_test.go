package graph_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

type provisioningRow struct {
	Integration string `json:"integration"`
	Status      string `json:"status"`
	Message     string `json:"message"`
	UpdatedAt   string `json:"updatedAt"`
}

// waitProvisioned polls the tenant until no integration is PENDING.
func waitProvisioned(t *testing.T, s *testserver.Server, as, slug string) []provisioningRow {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var data struct {
			Tenant struct{ Provisioning []provisioningRow } `json:"tenant"`
		}
		s.Query(as, `query($s: String!) { tenant(slug: $s) { provisioning { integration status message updatedAt } } }`,
			map[string]any{"s": slug}).Decode(t, &data)
		pending := false
		for _, r := range data.Tenant.Provisioning {
			pending = pending || r.Status == "PENDING"
		}
		if !pending {
			return data.Tenant.Provisioning
		}
		if time.Now().After(deadline) {
			t.Fatalf("provisioning of %s still pending: %+v", slug, data.Tenant.Provisioning)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProvisioningGraphQL: without plugins every integration of a new
// tenant settles as SKIPPED; reconcile and the plan are for operators and
// the tenant's partner only.
func TestProvisioningGraphQL(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			s.Query("operator", `mutation { createTenant(input: {slug: "umbrella", name: "Umbrella", plan: STARTER, seats: 3, partnerSlug: "northwind", domains: ["umbrella.example"]}) { slug } }`, nil).
				Decode(t, &struct{}{})
			rows := waitProvisioned(t, s, "operator", "umbrella")
			want := []string{"IDENTITY", "STORAGE", "BILLING", "MAIL"}
			if len(rows) != len(want) {
				t.Fatalf("provisioning rows: %+v", rows)
			}
			for i, r := range rows {
				if r.Integration != want[i] || r.Status != "SKIPPED" || r.Message != "not configured" || r.UpdatedAt == "" {
					t.Fatalf("row %d: %+v, want %s SKIPPED (not configured)", i, r, want[i])
				}
			}

			reconcile := `mutation($s: String!) { reconcileTenant(slug: $s) { slug provisioning { integration status } } }`
			for _, as := range []string{"operator", "partner:northwind"} {
				var data struct {
					ReconcileTenant struct {
						Slug         string
						Provisioning []provisioningRow
					} `json:"reconcileTenant"`
				}
				s.Query(as, reconcile, map[string]any{"s": "acme"}).Decode(t, &data)
				for _, r := range data.ReconcileTenant.Provisioning {
					if r.Status != "PENDING" {
						t.Fatalf("%s reconcile: %s is %s, want PENDING", as, r.Integration, r.Status)
					}
				}
				waitProvisioned(t, s, "operator", "acme")
			}
			for as, code := range map[string]string{"admin:acme": "FORBIDDEN", "member:acme": "FORBIDDEN", "partner:northwind": "NOT_FOUND"} {
				slug := "acme"
				if as == "partner:northwind" {
					slug = "globex" // not the partner's tenant
				}
				if got := s.Query(as, reconcile, map[string]any{"s": slug}).Code(); got != code {
					t.Fatalf("%s reconcileTenant(%s): %q, want %s", as, slug, got, code)
				}
				if got := s.Query(as, `query($s: String!) { provisioningPlan(slug: $s) { integration } }`, map[string]any{"s": slug}).Code(); got != code {
					t.Fatalf("%s provisioningPlan(%s): %q, want %s", as, slug, got, code)
				}
			}
			events := auditEvents(t, s, map[string]any{"action": "tenant.reconcile_requested"})
			if len(events) != 2 || events[0].TenantSlug != "acme" {
				t.Fatalf("reconcile audit events: %+v", events)
			}

			var plan struct {
				ProvisioningPlan []struct {
					Integration, Provider, Message string
					Configured                     bool
					Changes                        []string
				} `json:"provisioningPlan"`
			}
			s.Query("partner:northwind", `query { provisioningPlan(slug: "umbrella") { integration provider configured changes message } }`, nil).Decode(t, &plan)
			if len(plan.ProvisioningPlan) != 4 {
				t.Fatalf("plan: %+v", plan)
			}
			for _, it := range plan.ProvisioningPlan {
				if it.Configured || it.Provider != "" || len(it.Changes) != 0 || !strings.Contains(it.Message, "not configured") {
					t.Fatalf("plan item without plugins: %+v", it)
				}
			}
		})
	}
}

// TestHealthQuery: operators see the live probes and the planned services;
// everybody else is refused; /readyz checks the database.
func TestHealthQuery(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			var data struct {
				Health struct {
					CheckedAt string
					Services  []struct {
						Name, Status, Message string
						LatencyMs             int
					}
					Planned []struct{ Name string }
				}
			}
			s.Query("operator", `{ health { checkedAt services { name status latencyMs message } planned { name } } }`, nil).Decode(t, &data)
			if data.Health.CheckedAt == "" || len(data.Health.Services) != 1 {
				t.Fatalf("health: %+v", data.Health)
			}
			db := data.Health.Services[0]
			if db.Status != "OK" && db.Status != "WARN" {
				t.Fatalf("database probe: %+v", db)
			}
			var planned []string
			for _, p := range data.Health.Planned {
				planned = append(planned, p.Name)
			}
			if strings.Join(planned, ",") != "Jitsi,Zulip,simpledns.plus,Hetzner Object Storage,Postmark" {
				t.Fatalf("planned: %v", planned)
			}
			for _, as := range []string{"partner:northwind", "admin:acme", "member:acme", ""} {
				want := "FORBIDDEN"
				if as == "" {
					want = "UNAUTHENTICATED"
				}
				if got := s.Query(as, `{ health { checkedAt } }`, nil).Code(); got != want {
					t.Fatalf("%q health: %q, want %s", as, got, want)
				}
			}
			rsp, err := http.Get(s.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			rsp.Body.Close()
			if rsp.StatusCode != http.StatusOK {
				t.Fatalf("/readyz: %d", rsp.StatusCode)
			}
		})
	}
}

// TestHealthChangedSubscription: an operator subscribed over the WebSocket
// (token in connection_init) gets the current report at once; a member's
// subscription is refused.
func TestHealthChangedSubscription(t *testing.T) {
	s := testserver.Start(t, testdb.Dialects[0])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	subscribe := func(as string) map[string]any {
		t.Helper()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/query",
			&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(websocket.StatusNormalClosure, "")
		if err := wsjson.Write(ctx, c, map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": s.Token(as)}}); err != nil {
			t.Fatal(err)
		}
		var ack map[string]any
		if err := wsjson.Read(ctx, c, &ack); err != nil || ack["type"] != "connection_ack" {
			t.Fatalf("connection_init: %v %v", ack, err)
		}
		if err := wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe",
			"payload": map[string]any{"query": "subscription { healthChanged { checkedAt services { name status } } }"}}); err != nil {
			t.Fatal(err)
		}
		var msg map[string]any
		if err := wsjson.Read(ctx, c, &msg); err != nil {
			t.Fatal(err)
		}
		return msg
	}
	msg := subscribe("operator")
	b, _ := json.Marshal(msg)
	if msg["type"] != "next" || !strings.Contains(string(b), `"healthChanged"`) || !strings.Contains(string(b), `"status":"OK"`) {
		t.Fatalf("operator subscription: %s", b)
	}
	msg = subscribe("member:acme")
	b, _ = json.Marshal(msg)
	if !strings.Contains(string(b), "FORBIDDEN") {
		t.Fatalf("member subscription: %s", b)
	}
}
