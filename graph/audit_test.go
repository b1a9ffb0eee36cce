package graph_test

import (
	"testing"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

func TestAuditEventFilters(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			s.WaitProvisioned() // start-up work, the daily payout run included
			s.Query("partner:northwind", `mutation { updateTenant(slug: "acme", input: {seats: 40}) { id } }`, nil).Decode(t, &struct{}{})
			s.Query("operator", `mutation { suspendTenant(slug: "globex") { id } }`, nil).Decode(t, &struct{}{})
			s.Query("operator", `mutation { resumeTenant(slug: "globex") { id } }`, nil).Decode(t, &struct{}{})
			count := func(where map[string]any) int { return len(auditEvents(t, s, where)) }
			// The first event after the seed marks the boundary.
			first := auditEvents(t, s, map[string]any{"actorEmail": "staff@northwind.example"})[0].At
			for _, tc := range []struct {
				name  string
				where map[string]any
				want  int
			}{
				{"action prefix", map[string]any{"actionPrefix": "tenant."}, 5}, // 2 seeded creates + 3
				{"tenant", map[string]any{"tenantSlug": "globex"}, 3},
				{"partner", map[string]any{"partnerSlug": "northwind"}, 3}, // partner.created, acme created, acme updated
				{"actor", map[string]any{"actorEmail": "staff@northwind.example"}, 1},
				{"outcome", map[string]any{"outcome": "FAILURE"}, 0},
				{"since", map[string]any{"since": first}, 3},
				{"until", map[string]any{"until": first}, 14}, // the seed and the start-up payouts.generated
				{"text", map[string]any{"q": "RESUMED"}, 1},
				{"combined", map[string]any{"actionPrefix": "tenant.", "tenantSlug": "globex", "since": first}, 2},
			} {
				if got := count(tc.where); got != tc.want {
					t.Errorf("%s: %d events, want %d", tc.name, got, tc.want)
				}
			}
			// Newest first.
			ev := auditEvents(t, s, map[string]any{"tenantSlug": "globex"})
			if ev[0].Action != "tenant.resumed" || ev[len(ev)-1].Action != "tenant.created" {
				t.Fatalf("order: first %s, last %s", ev[0].Action, ev[len(ev)-1].Action)
			}
			// Partner staff see their partner's events only.
			var staff struct {
				AuditEvents struct {
					Edges []struct{ Node struct{ PartnerSlug *string } }
				}
			}
			s.Query("partner:northwind", `{ auditEvents(first: 100) { edges { node { partnerSlug } } } }`, nil).Decode(t, &staff)
			if len(staff.AuditEvents.Edges) != 3 {
				t.Fatalf("partner staff see %d events, want 3", len(staff.AuditEvents.Edges))
			}
			for _, e := range staff.AuditEvents.Edges {
				if e.Node.PartnerSlug == nil || *e.Node.PartnerSlug != "northwind" {
					t.Fatalf("partner staff see an event of partner %v", e.Node.PartnerSlug)
				}
			}
		})
	}
}
