package graph_test

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/authn/devissuer"
	"github.com/dezky/platform/internal/demo"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

type auditRow struct {
	At          string         `json:"at"`
	Action      string         `json:"action"`
	Outcome     string         `json:"outcome"`
	ActorEmail  string         `json:"actorEmail"`
	ActorIP     string         `json:"actorIP"`
	TenantSlug  string         `json:"tenantSlug"`
	PartnerSlug string         `json:"partnerSlug"`
	Metadata    map[string]any `json:"metadata"`
}

// auditEvents returns the newest events matching where, as the operator.
func auditEvents(t *testing.T, s *testserver.Server, where map[string]any) []auditRow {
	t.Helper()
	var data struct {
		AuditEvents struct {
			Edges []struct{ Node auditRow } `json:"edges"`
		} `json:"auditEvents"`
	}
	s.Query("operator", `query($w: AuditEventWhereInput) { auditEvents(first: 100, where: $w) {
		edges { node { at action outcome actorEmail actorIP tenantSlug partnerSlug metadata } } } }`,
		map[string]any{"w": where}).Decode(t, &data)
	out := make([]auditRow, 0, len(data.AuditEvents.Edges))
	for _, e := range data.AuditEvents.Edges {
		out = append(out, e.Node)
	}
	return out
}

func TestTenantLifecycle(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			// The test connects from loopback through a (pretend) proxy chain.
			s := testserver.StartWith(t, d, func(c *app.ServeConfig) {
				c.Guards.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
			})
			op := s.Token("operator")

			// Create through real HTTP with a forwarded client address.
			rsp := s.Do(testserver.Request{Token: op, Headers: map[string]string{"X-Forwarded-For": "203.0.113.7, 10.0.0.1"},
				Query: `mutation { createTenant(input: {slug: "initech", name: "Initech", plan: BUSINESS, seats: 5, partnerSlug: "northwind", domains: ["Initech.Example", "initech.example"]}) {
					slug name plan seats status domains partner { slug } } }`})
			var created struct {
				CreateTenant struct {
					Slug, Name, Plan, Status string
					Seats                    int
					Domains                  []string
					Partner                  *struct{ Slug string }
				}
			}
			rsp.Decode(t, &created)
			c := created.CreateTenant
			if c.Slug != "initech" || c.Plan != "BUSINESS" || c.Seats != 5 || c.Status != "ACTIVE" || c.Partner == nil || c.Partner.Slug != "northwind" {
				t.Fatalf("createTenant = %+v", c)
			}
			if got, want := c.Domains, []string{"initech.example"}; len(got) != 1 || got[0] != want[0] {
				t.Fatalf("domains = %v, want %v (normalised, de-duplicated)", got, want)
			}
			ev := auditEvents(t, s, map[string]any{"actionPrefix": "tenant.created", "tenantSlug": "initech"})
			if len(ev) != 1 || ev[0].ActorEmail != "operator@dezky.local" || ev[0].ActorIP != "203.0.113.7" || ev[0].PartnerSlug != "northwind" {
				t.Fatalf("tenant.created audit = %+v", ev)
			}

			// Update: the diff holds only the fields that changed.
			s.Query("operator", `mutation { updateTenant(slug: "initech", input: {seats: 9, name: "Initech", industry: "Software"}) { seats } }`, nil).Decode(t, &struct{}{})
			ev = auditEvents(t, s, map[string]any{"actionPrefix": "tenant.updated", "tenantSlug": "initech"})
			if len(ev) != 1 {
				t.Fatalf("tenant.updated events = %d, want 1", len(ev))
			}
			diff, _ := ev[0].Metadata["diff"].(map[string]any)
			if len(diff) != 2 || diff["seats"] == nil || diff["industry"] == nil {
				t.Fatalf("diff = %v, want exactly seats and industry", diff)
			}
			if seats := diff["seats"].(map[string]any); seats["from"] != float64(5) || seats["to"] != float64(9) {
				t.Fatalf("seats diff = %v", seats)
			}

			// Detach the partner, then suspend, resume, delete.
			s.Query("operator", `mutation { updateTenant(slug: "initech", input: {partnerSlug: null}) { partner { slug } } }`, nil).Decode(t, &struct{}{})
			for _, step := range []struct{ mutation, status string }{
				{"suspendTenant", "SUSPENDED"}, {"resumeTenant", "ACTIVE"}, {"deleteTenant", "DELETED"},
			} {
				var out map[string]struct{ Status string }
				s.Query("operator", `mutation { `+step.mutation+`(slug: "initech") { status } }`, nil).Decode(t, &out)
				if got := out[step.mutation].Status; got != step.status {
					t.Fatalf("%s: status = %s, want %s", step.mutation, got, step.status)
				}
			}
			if code := s.Query("operator", `mutation { resumeTenant(slug: "initech") { status } }`, nil).Code(); code != "CONFLICT" {
				t.Fatalf("resume a deleted tenant: code = %q, want CONFLICT", code)
			}
			var actions []string
			for _, e := range auditEvents(t, s, map[string]any{"tenantSlug": "initech"}) {
				actions = append(actions, e.Action)
			}
			want := []string{"tenant.deleted", "tenant.resumed", "tenant.suspended", "tenant.updated", "tenant.updated", "tenant.created"}
			if b1, b2 := mustJSON(actions), mustJSON(want); b1 != b2 {
				t.Fatalf("audit trail (newest first) = %s, want %s", b1, b2)
			}

			// Status counts exclude deleted tenants.
			var counts struct {
				TenantStatusCounts struct{ All, Active, Pending, Suspended int }
			}
			s.Query("operator", `{ tenantStatusCounts { all active pending suspended } }`, nil).Decode(t, &counts)
			if got := counts.TenantStatusCounts; got.All != 2 || got.Active != 2 {
				t.Fatalf("status counts = %+v, want all=2 active=2", got)
			}
		})
	}
}

func TestTenantErrors(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			before := countRows(t, s)
			cases := []struct {
				name, as, query, code, field string
			}{
				{"duplicate slug", "operator", `mutation { createTenant(input: {slug: "acme", name: "Again"}) { id } }`, "CONFLICT", ""},
				{"bad slug", "operator", `mutation { createTenant(input: {slug: "Not A Slug", name: "x"}) { id } }`, "BAD_USER_INPUT", "slug"},
				{"blank name", "operator", `mutation { createTenant(input: {slug: "fresh", name: "  "}) { id } }`, "BAD_USER_INPUT", "name"},
				{"negative seats", "operator", `mutation { createTenant(input: {slug: "fresh", name: "x", seats: -1}) { id } }`, "BAD_USER_INPUT", "seats"},
				{"unknown partner", "operator", `mutation { createTenant(input: {slug: "fresh", name: "x", partnerSlug: "nobody"}) { id } }`, "BAD_USER_INPUT", "partnerSlug"},
				{"bad domain", "operator", `mutation { createTenant(input: {slug: "fresh", name: "x", domains: ["not a domain"]}) { id } }`, "BAD_USER_INPUT", "domains"},
				{"bad colour", "operator", `mutation { updateTenant(slug: "acme", input: {brandColor: "red"}) { id } }`, "BAD_USER_INPUT", "brandColor"},
				{"unknown tenant", "operator", `mutation { suspendTenant(slug: "nope") { id } }`, "NOT_FOUND", ""},
				{"member creates", "member:acme", `mutation { createTenant(input: {slug: "fresh", name: "x"}) { id } }`, "FORBIDDEN", ""},
				{"admin suspends own", "admin:acme", `mutation { suspendTenant(slug: "acme") { id } }`, "FORBIDDEN", ""},
				{"admin changes plan", "admin:acme", `mutation { updateTenant(slug: "acme", input: {plan: ENTERPRISE}) { id } }`, "FORBIDDEN", ""},
				{"staff detaches", "partner:northwind", `mutation { updateTenant(slug: "acme", input: {partnerSlug: null}) { id } }`, "FORBIDDEN", ""},
				{"staff deletes", "partner:northwind", `mutation { deleteTenant(slug: "acme") { id } }`, "FORBIDDEN", ""},
				{"anonymous", "", `{ tenants { totalCount } }`, "UNAUTHENTICATED", ""},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					rsp := s.Query(tc.as, tc.query, nil)
					if got := rsp.Code(); got != tc.code {
						t.Fatalf("code = %q, want %q (%s)", got, tc.code, rsp.Body)
					}
					if tc.field != "" {
						if got := rsp.Errors[0].Extensions["field"]; got != tc.field {
							t.Fatalf("field = %v, want %q", got, tc.field)
						}
					}
				})
			}
			if after := countRows(t, s); after != before {
				t.Fatalf("rejected mutations changed the database: rows %v → %v", before, after)
			}
		})
	}
}

func TestTenantRolesAllowed(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			// Partner staff manage their partner's tenant.
			var out struct{ SuspendTenant struct{ Status string } }
			s.Query("partner:northwind", `mutation { suspendTenant(slug: "acme") { status } }`, nil).Decode(t, &out)
			if out.SuspendTenant.Status != "SUSPENDED" {
				t.Fatalf("staff suspend: %+v", out)
			}
			s.Query("partner:northwind", `mutation { resumeTenant(slug: "acme") { status } }`, nil).Decode(t, &struct{}{})
			s.Query("partner:northwind", `mutation { updateTenant(slug: "acme", input: {seats: 30}) { seats } }`, nil).Decode(t, &struct{}{})
			// Tenant admins change their branding; blank clears.
			var up struct{ UpdateTenant struct{ BrandColor *string } }
			s.Query("admin:acme", `mutation { updateTenant(slug: "acme", input: {brandColor: "#112233"}) { brandColor } }`, nil).Decode(t, &up)
			if up.UpdateTenant.BrandColor == nil || *up.UpdateTenant.BrandColor != "#112233" {
				t.Fatalf("brandColor = %v", up.UpdateTenant.BrandColor)
			}
			s.Query("admin:acme", `mutation { updateTenant(slug: "acme", input: {brandColor: ""}) { brandColor } }`, nil).Decode(t, &up)
			if up.UpdateTenant.BrandColor != nil {
				t.Fatalf("blank brandColor should clear, got %q", *up.UpdateTenant.BrandColor)
			}
			// Tenant admins read their tenant's audit trail, and only it.
			var ev struct {
				AuditEvents struct {
					Edges []struct{ Node struct{ TenantSlug string } }
				}
			}
			s.Query("admin:acme", `{ auditEvents { edges { node { tenantSlug } } } }`, nil).Decode(t, &ev)
			if len(ev.AuditEvents.Edges) == 0 {
				t.Fatal("acme admin sees no audit events")
			}
			for _, e := range ev.AuditEvents.Edges {
				if e.Node.TenantSlug != "acme" {
					t.Fatalf("acme admin sees an event of %q", e.Node.TenantSlug)
				}
			}
		})
	}
}

func TestMe(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			// A user who is admin in acme and member in globex reads the
			// per-tenant role, not a global one.
			var me struct {
				Me struct {
					Email       string
					IsOperator  bool
					Memberships []struct {
						Role   string
						Tenant struct{ Slug string }
					}
					Partner *struct{ Slug string }
				}
			}
			s.Query("admin:acme", `{ me { email isOperator memberships { role tenant { slug } } partner { slug } } }`, nil).Decode(t, &me)
			if me.Me.Email != "admin@acme.example" || me.Me.IsOperator || len(me.Me.Memberships) != 1 ||
				me.Me.Memberships[0].Role != "ADMIN" || me.Me.Memberships[0].Tenant.Slug != "acme" || me.Me.Partner != nil {
				t.Fatalf("me (admin:acme) = %+v", me.Me)
			}
			s.Query("partner:northwind", `{ me { email isOperator memberships { role tenant { slug } } partner { slug } } }`, nil).Decode(t, &me)
			if me.Me.Partner == nil || me.Me.Partner.Slug != "northwind" || me.Me.IsOperator {
				t.Fatalf("me (partner) = %+v", me.Me)
			}
			s.Query("operator", `{ me { email isOperator memberships { role } partner { slug } } }`, nil).Decode(t, &me)
			if !me.Me.IsOperator {
				t.Fatalf("operator is not an operator: %+v", me.Me)
			}
			// A platform admin with a portal-audience token is no operator.
			portal, err := s.DevIssuer.Mint(devissuer.MintClaims{Subject: demo.OperatorSubject, Audience: []string{app.DefaultPortalAudience}, TTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			s.Do(testserver.Request{Token: portal, Query: `{ me { email isOperator memberships { role } partner { slug } } }`}).Decode(t, &me)
			if me.Me.IsOperator {
				t.Fatal("platform admin with the portal audience was treated as operator")
			}
			if code := s.Do(testserver.Request{Token: portal, Query: `{ tenant(slug: "acme") { id } }`}).Code(); code != "NOT_FOUND" {
				t.Fatalf("portal-audience platform admin reading acme: code %q, want NOT_FOUND", code)
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
