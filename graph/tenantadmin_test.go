package graph_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// auditMetadata returns the metadata of the events with action, as the
// operator sees them.
func auditMetadata(t *testing.T, s *testserver.Server, action string) []map[string]any {
	t.Helper()
	var data struct {
		AuditEvents struct {
			Edges []struct {
				Node struct {
					Metadata map[string]any
				}
			}
		} `json:"auditEvents"`
	}
	s.Query("operator", `query($a: String!) { auditEvents(first: 50, where: {action: $a}) { edges { node { metadata } } } }`,
		map[string]any{"a": action}).Decode(t, &data)
	var out []map[string]any
	for _, e := range data.AuditEvents.Edges {
		out = append(out, e.Node.Metadata)
	}
	return out
}

// refusedNoChange asserts that rsp failed with code (and, when field is set,
// extensions.field) and that the database is unchanged since before.
func refusedNoChange(t *testing.T, s *testserver.Server, rsp *testserver.Response, code, field, before string) {
	t.Helper()
	if rsp.Code() != code {
		t.Fatalf("code %q, want %s: %s", rsp.Code(), code, rsp.Body)
	}
	if field != "" {
		if got, _ := rsp.Errors[0].Extensions["field"].(string); got != field {
			t.Fatalf("field %q, want %q: %s", got, field, rsp.Body)
		}
	}
	if after := countRows(t, s); after != before {
		t.Fatalf("refused request changed the database (%s): %s", changedTables(before, after), rsp.Body)
	}
}

const policyFields = `mfaMode sessionIdleMinutes sessionMaxHours allowedCountries ipAllowlist updatedAt enforcement { setting status reason }`

type policyData struct {
	MfaMode            string
	SessionIdleMinutes int
	SessionMaxHours    int
	AllowedCountries   []string
	IPAllowlist        []string `json:"ipAllowlist"`
	UpdatedAt          *string
	Enforcement        []struct{ Setting, Status, Reason string }
}

// TestSecurityPolicy: defaults, an audited change with normalised input,
// who may read and change it, every validation refusal naming its field
// and changing nothing, and an Idempotency-Key replay.
func TestSecurityPolicy(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			var got struct {
				Tenant struct{ SecurityPolicy policyData }
			}
			s.Query("admin:acme", `{ tenant(slug: "acme") { securityPolicy { `+policyFields+` } } }`, nil).Decode(t, &got)
			p := got.Tenant.SecurityPolicy
			if p.MfaMode != "OPTIONAL" || p.SessionIdleMinutes != 60 || p.SessionMaxHours != 12 || len(p.AllowedCountries) != 0 ||
				len(p.IPAllowlist) != 0 || p.UpdatedAt != nil || len(p.Enforcement) != 5 {
				t.Fatalf("defaults = %+v", p)
			}
			for _, e := range p.Enforcement {
				if e.Status != "RECORDED" || !strings.Contains(e.Reason, "no identity provider is configured") {
					t.Fatalf("enforcement without an identity provider: %+v", e)
				}
			}
			if rsp := s.Query("member:acme", `{ tenant(slug: "acme") { securityPolicy { mfaMode } } }`, nil); rsp.Code() != "FORBIDDEN" {
				t.Fatalf("member reads the policy: %s", rsp.Body)
			}

			update := `mutation($s: String!, $in: UpdateSecurityPolicyInput!) { updateSecurityPolicy(tenantSlug: $s, input: $in) { ` + policyFields + ` } }`
			var upd struct{ UpdateSecurityPolicy policyData }
			s.Query("admin:acme", update, map[string]any{"s": "acme", "in": map[string]any{
				"mfaMode": "REQUIRED", "sessionIdleMinutes": 30, "sessionMaxHours": 8,
				"allowedCountries": []string{"de", " FR", "DE"},
				"ipAllowlist":      []string{"2001:db8::/32", "10.0.0.0/8", "192.0.2.1", "10.0.0.0/8"},
			}}).Decode(t, &upd)
			p = upd.UpdateSecurityPolicy
			if p.MfaMode != "REQUIRED" || p.SessionIdleMinutes != 30 || p.SessionMaxHours != 8 ||
				strings.Join(p.AllowedCountries, ",") != "DE,FR" ||
				strings.Join(p.IPAllowlist, ",") != "10.0.0.0/8,192.0.2.1/32,2001:db8::/32" || p.UpdatedAt == nil {
				t.Fatalf("updated policy = %+v", p)
			}
			md := auditMetadata(t, s, "tenant.security_policy_updated")
			if len(md) != 1 {
				t.Fatalf("audit events: %v", md)
			}
			diff, _ := json.Marshal(md[0]["diff"])
			for _, want := range []string{`"mfaMode":{"from":"OPTIONAL","to":"REQUIRED"}`, `"sessionIdleMinutes":{"from":60,"to":30}`, `"allowedCountries"`} {
				if !strings.Contains(string(diff), want) {
					t.Fatalf("audit diff %s lacks %s", diff, want)
				}
			}

			// The tenant's partner may change it; others see no tenant.
			s.Query("partner:northwind", update, map[string]any{"s": "acme", "in": map[string]any{"mfaMode": "OFF"}}).Decode(t, &upd)
			if upd.UpdateSecurityPolicy.MfaMode != "OFF" || upd.UpdateSecurityPolicy.SessionIdleMinutes != 30 {
				t.Fatalf("partner update: %+v", upd.UpdateSecurityPolicy)
			}
			before := countRows(t, s)
			for as, code := range map[string]string{"member:acme": "FORBIDDEN", "admin:globex": "NOT_FOUND", "partner:northwind@globex": ""} {
				if code == "" {
					continue
				}
				refusedNoChange(t, s, s.Query(as, update, map[string]any{"s": "acme", "in": map[string]any{"mfaMode": "REQUIRED"}}), code, "", before)
			}
			refusedNoChange(t, s, s.Query("partner:northwind", update, map[string]any{"s": "globex", "in": map[string]any{"mfaMode": "REQUIRED"}}), "NOT_FOUND", "", before)

			for _, c := range []struct {
				field string
				in    map[string]any
			}{
				{"sessionIdleMinutes", map[string]any{"sessionIdleMinutes": 4}},
				{"sessionIdleMinutes", map[string]any{"sessionIdleMinutes": 1441}},
				{"sessionMaxHours", map[string]any{"sessionMaxHours": 0}},
				{"sessionMaxHours", map[string]any{"sessionMaxHours": 721}},
				{"sessionIdleMinutes", map[string]any{"sessionIdleMinutes": 600, "sessionMaxHours": 2}},
				{"sessionMaxHours", map[string]any{"sessionMaxHours": 0 + 1}}, // 30 idle minutes fit one hour: accepted below
				{"allowedCountries", map[string]any{"allowedCountries": []string{"DE", "XX"}}},
				{"allowedCountries", map[string]any{"allowedCountries": []string{"DEU"}}},
				{"ipAllowlist", map[string]any{"ipAllowlist": []string{"10.0.0.1/8"}}},
				{"ipAllowlist", map[string]any{"ipAllowlist": []string{"10.0.0.0/33"}}},
				{"ipAllowlist", map[string]any{"ipAllowlist": []string{"example.com"}}},
				{"ipAllowlist", map[string]any{"ipAllowlist": []string{"fe80::1%eth0"}}},
				{"ipAllowlist", map[string]any{"ipAllowlist": []string{"::ffff:10.0.0.0/104"}}},
			} {
				rsp := s.Query("admin:acme", update, map[string]any{"s": "acme", "in": c.in})
				if c.in["sessionMaxHours"] == 1 && len(c.in) == 1 {
					if rsp.Code() != "" {
						t.Fatalf("one-hour sessions with 30 idle minutes refused: %s", rsp.Body)
					}
					before = countRows(t, s)
					continue
				}
				refusedNoChange(t, s, rsp, "BAD_USER_INPUT", c.field, before)
			}

			// An Idempotency-Key replay answers the first response and
			// changes nothing more.
			req := testserver.Request{Token: s.Token("admin:acme"), Headers: map[string]string{"Idempotency-Key": "policy-1"},
				Query: update, Variables: map[string]any{"s": "acme", "in": map[string]any{"sessionMaxHours": 24}}}
			first := s.Do(req)
			if first.Code() != "" {
				t.Fatalf("first: %s", first.Body)
			}
			n := len(auditMetadata(t, s, "tenant.security_policy_updated"))
			again := s.Do(req)
			if string(again.Data) != string(first.Data) || len(auditMetadata(t, s, "tenant.security_policy_updated")) != n {
				t.Fatalf("replay: %s vs %s", again.Body, first.Body)
			}
		})
	}
}

type brandingValue struct {
	Value  *string
	Source string
}

type effectiveData struct {
	ProductName, AccentColor, LogoURL brandingValue
	AccentTextColor                   string
	EmailTemplates                    []struct{ Key, Subject, Body, Source string }
}

const effectiveFields = `productName { value source } accentColor { value source } accentTextColor logoUrl { value source } emailTemplates { key subject body source }`

func effective(t *testing.T, s *testserver.Server, as, slug string) effectiveData {
	t.Helper()
	var got struct {
		Tenant struct{ EffectiveBranding effectiveData }
	}
	s.Query(as, `query($s: String!) { tenant(slug: $s) { effectiveBranding { `+effectiveFields+` } } }`, map[string]any{"s": slug}).Decode(t, &got)
	return got.Tenant.EffectiveBranding
}

func templateSource(e effectiveData, key string) (string, string) {
	for _, t := range e.EmailTemplates {
		if t.Key == key {
			return t.Source, t.Subject
		}
	}
	return "", ""
}

// TestBranding: tenant overrides partner overrides platform, field by
// field; YIQ text colour; template placeholders checked; previews render
// sample data; who may change what; refusals change nothing.
func TestBranding(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			e := effective(t, s, "member:acme", "acme")
			if *e.ProductName.Value != "Dezky" || e.ProductName.Source != "PLATFORM" || *e.AccentColor.Value != "#4f46e5" ||
				e.AccentTextColor != "#ffffff" || e.LogoURL.Value != nil || e.LogoURL.Source != "PLATFORM" || len(e.EmailTemplates) < 2 {
				t.Fatalf("platform defaults: %+v", e)
			}

			partnerBranding := `mutation($s: String!, $in: BrandingInput!) { updatePartnerBranding(slug: $s, input: $in) { slug branding { productName accentColor logoUrl emailTemplates { key subject } } } }`
			s.Query("partner:northwind", partnerBranding, map[string]any{"s": "northwind", "in": map[string]any{
				"productName": "Northwind Cloud", "accentColor": "#FC0", "logoUrl": "https://northwind.example/logo.svg",
				"emailTemplates": []map[string]any{{"key": "member_invite", "subject": "Join {{.TenantName}} on {{.ProductName}}", "body": "Hi {{.MemberName}},\nclick {{.InviteURL}}\n"}},
			}}).Decode(t, &struct{}{})
			e = effective(t, s, "member:acme", "acme")
			if *e.ProductName.Value != "Northwind Cloud" || e.ProductName.Source != "PARTNER" || *e.AccentColor.Value != "#ffcc00" ||
				e.AccentColor.Source != "PARTNER" || e.AccentTextColor != "#000000" || e.LogoURL.Source != "PARTNER" {
				t.Fatalf("partner branding: %+v", e)
			}
			if src, _ := templateSource(e, "member_invite"); src != "PARTNER" {
				t.Fatalf("member_invite from %s", src)
			}
			if src, _ := templateSource(e, "password_reset"); src != "PLATFORM" {
				t.Fatalf("password_reset from %s", src)
			}
			if g := effective(t, s, "admin:globex", "globex"); g.ProductName.Source != "PLATFORM" || g.AccentColor.Source != "PLATFORM" {
				t.Fatalf("a direct tenant picks up a partner's branding: %+v", g)
			}

			tenantBranding := `mutation($s: String!, $in: BrandingInput!) { updateTenantBranding(tenantSlug: $s, input: $in) { slug branding { productName accentColor logoUrl emailTemplates { key } } } }`
			s.Query("admin:acme", tenantBranding, map[string]any{"s": "acme", "in": map[string]any{
				"accentColor":    "#123456",
				"emailTemplates": []map[string]any{{"key": "member_invite", "subject": "Welcome to {{.TenantName}}", "body": "{{.InviterName}} invited {{.MemberEmail}}: {{.InviteURL}}"}},
			}}).Decode(t, &struct{}{})
			e = effective(t, s, "member:acme", "acme")
			if e.AccentColor.Source != "TENANT" || *e.AccentColor.Value != "#123456" || e.AccentTextColor != "#ffffff" ||
				e.ProductName.Source != "PARTNER" {
				t.Fatalf("tenant over partner: %+v", e)
			}
			if src, subject := templateSource(e, "member_invite"); src != "TENANT" || subject != "Welcome to {{.TenantName}}" {
				t.Fatalf("member_invite: %s %q", src, subject)
			}
			var prev struct {
				PreviewEmail struct{ Key, Subject, Body, Source string }
			}
			s.Query("member:acme", `{ previewEmail(tenantSlug: "acme", key: "member_invite") { key subject body source } }`, nil).Decode(t, &prev)
			if prev.PreviewEmail.Subject != "Welcome to Acme Corp" || prev.PreviewEmail.Source != "TENANT" ||
				!strings.Contains(prev.PreviewEmail.Body, "sam@acme.example") {
				t.Fatalf("preview: %+v", prev.PreviewEmail)
			}
			s.Query("member:acme", `{ previewEmail(tenantSlug: "acme", key: "password_reset") { subject body source } }`, nil).Decode(t, &prev)
			if prev.PreviewEmail.Subject != "Reset your Northwind Cloud password" || prev.PreviewEmail.Source != "PLATFORM" {
				t.Fatalf("preview: %+v", prev.PreviewEmail)
			}
			if rsp := s.Query("member:acme", `{ previewEmail(tenantSlug: "acme", key: "nope") { subject } }`, nil); rsp.Code() != "BAD_USER_INPUT" {
				t.Fatalf("unknown key: %s", rsp.Body)
			}

			// Clearing the tenant's accent falls back to the partner's.
			s.Query("partner:northwind", tenantBranding, map[string]any{"s": "acme", "in": map[string]any{"accentColor": nil}}).Decode(t, &struct{}{})
			if e = effective(t, s, "admin:acme", "acme"); e.AccentColor.Source != "PARTNER" {
				t.Fatalf("cleared accent: %+v", e.AccentColor)
			}
			if md := auditMetadata(t, s, "tenant.branding_updated"); len(md) != 2 {
				t.Fatalf("tenant branding audit: %v", md)
			} else if diffs, _ := json.Marshal(md); !strings.Contains(string(diffs), `"accentColor":{"from":"#123456","to":null}`) {
				t.Fatalf("tenant branding diffs: %s", diffs)
			}
			if md := auditMetadata(t, s, "partner.branding_updated"); len(md) != 1 {
				t.Fatalf("partner branding audit: %v", md)
			}

			before := countRows(t, s)
			refusedNoChange(t, s, s.Query("member:acme", tenantBranding, map[string]any{"s": "acme", "in": map[string]any{"productName": "X"}}), "FORBIDDEN", "", before)
			refusedNoChange(t, s, s.Query("admin:acme", partnerBranding, map[string]any{"s": "northwind", "in": map[string]any{"productName": "X"}}), "NOT_FOUND", "", before)
			for _, c := range []struct {
				field string
				in    map[string]any
			}{
				{"accentColor", map[string]any{"accentColor": "blue"}},
				{"accentColor", map[string]any{"accentColor": "#12345g"}},
				{"logoUrl", map[string]any{"logoUrl": "http://acme.example/logo.png"}},
				{"logoUrl", map[string]any{"logoUrl": "javascript:alert(1)"}},
				{"productName", map[string]any{"productName": strings.Repeat("x", 81)}},
				{"emailTemplates", map[string]any{"emailTemplates": []map[string]any{{"key": "nope", "subject": "s", "body": "b"}}}},
				{"emailTemplates", map[string]any{"emailTemplates": []map[string]any{{"key": "password_reset", "subject": "{{.InviteURL}}", "body": "b"}}}},
				{"emailTemplates", map[string]any{"emailTemplates": []map[string]any{{"key": "password_reset", "subject": "s", "body": `{{printf "%s" .ResetURL}}`}}}},
				{"emailTemplates", map[string]any{"emailTemplates": []map[string]any{{"key": "password_reset", "subject": "s", "body": "{{if .ResetURL}}x{{end}}"}}}},
				{"emailTemplates", map[string]any{"emailTemplates": []map[string]any{{"key": "password_reset", "subject": "s", "body": "{{.ResetURL"}}}},
				{"emailTemplates", map[string]any{"emailTemplates": []map[string]any{
					{"key": "password_reset", "subject": "s", "body": "b"}, {"key": "password_reset", "subject": "s", "body": "b"}}}},
			} {
				refusedNoChange(t, s, s.Query("admin:acme", tenantBranding, map[string]any{"s": "acme", "in": c.in}), "BAD_USER_INPUT", c.field, before)
			}
		})
	}
}

// TestPartnerSettings: partner staff and operators change support
// contacts and the default plan, which new customers of the partner get.
func TestPartnerSettings(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			upd := `mutation($s: String!, $in: UpdatePartnerSettingsInput!) { updatePartnerSettings(slug: $s, input: $in) { settings { supportEmail supportUrl defaultPlan } } }`
			var got struct {
				UpdatePartnerSettings struct {
					Settings struct {
						SupportEmail, SupportURL, DefaultPlan *string
					}
				}
			}
			s.Query("partner:northwind", upd, map[string]any{"s": "northwind", "in": map[string]any{
				"supportEmail": "help@northwind.example", "supportUrl": "https://northwind.example/help", "defaultPlan": "BUSINESS"}}).Decode(t, &got)
			st := got.UpdatePartnerSettings.Settings
			if *st.SupportEmail != "help@northwind.example" || *st.SupportURL != "https://northwind.example/help" || *st.DefaultPlan != "BUSINESS" {
				t.Fatalf("settings: %+v", st)
			}
			var created struct{ CreateTenant struct{ Plan string } }
			s.Query("operator", `mutation { createTenant(input: {slug: "initrode", name: "Initrode", partnerSlug: "northwind"}) { plan } }`, nil).Decode(t, &created)
			if created.CreateTenant.Plan != "BUSINESS" {
				t.Fatalf("new customer's plan %s, want the partner default BUSINESS", created.CreateTenant.Plan)
			}
			s.Query("operator", upd, map[string]any{"s": "northwind", "in": map[string]any{"supportUrl": nil, "defaultPlan": nil}}).Decode(t, &got)
			if st = got.UpdatePartnerSettings.Settings; st.SupportURL != nil || st.DefaultPlan != nil || st.SupportEmail == nil {
				t.Fatalf("cleared settings: %+v", st)
			}
			if md := auditMetadata(t, s, "partner.settings_updated"); len(md) != 2 {
				t.Fatalf("audit: %v", md)
			}
			s.WaitProvisioned() // the new tenant's provisioning settles first
			before := countRows(t, s)
			refusedNoChange(t, s, s.Query("partner:northwind", upd, map[string]any{"s": "northwind", "in": map[string]any{"supportEmail": "not an address"}}), "BAD_USER_INPUT", "supportEmail", before)
			refusedNoChange(t, s, s.Query("partner:northwind", upd, map[string]any{"s": "northwind", "in": map[string]any{"supportUrl": "ftp://x.example"}}), "BAD_USER_INPUT", "supportUrl", before)
			refusedNoChange(t, s, s.Query("admin:acme", upd, map[string]any{"s": "northwind", "in": map[string]any{"supportUrl": nil}}), "NOT_FOUND", "", before)
			if rsp := s.Query("admin:acme", `{ partner(slug: "northwind") { settings { supportEmail } } }`, nil); rsp.Code() != "NOT_FOUND" {
				t.Fatalf("tenant admin reads partner settings: %s", rsp.Body)
			}
		})
	}
}
