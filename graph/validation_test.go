package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/maildomain"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// refused are characters no text input accepts: C0 and C1 controls (NUL,
// DEL, NEL among them), line/paragraph separators, bidi controls and
// invisible format characters.
var refused = []string{"\x00", "\x01", "\x1b", "\x1f", "\x7f", "\u0085", "\u009f", "\u2028", "\u2029",
	"\u200e", "\u202a", "\u202e", "\u2066", "\u2069", "\u200b", "\u2060", "\ufeff"}

// textInputs lists one operation per text input of the API: the variable
// $v is the value under test, field the expected extensions.field.
var textInputs = []struct {
	name, as, query, field string
	multiLine              bool
}{
	{"createTenant.slug", "operator", `mutation($v: String!) { createTenant(input: {slug: $v, name: "x"}) { id } }`, "slug", false},
	{"createTenant.name", "operator", `mutation($v: String!) { createTenant(input: {slug: "fresh", name: $v}) { id } }`, "name", false},
	{"createTenant.partnerSlug", "operator", `mutation($v: String!) { createTenant(input: {slug: "fresh", name: "x", partnerSlug: $v}) { id } }`, "partnerSlug", false},
	{"createTenant.domains", "operator", `mutation($v: String!) { createTenant(input: {slug: "fresh", name: "x", domains: ["ok.example", $v]}) { id } }`, "domains", false},
	{"updateTenant.slug", "operator", `mutation($v: String!) { updateTenant(slug: $v, input: {seats: 3}) { id } }`, "slug", false},
	{"updateTenant.name", "operator", `mutation($v: String!) { updateTenant(slug: "acme", input: {name: $v}) { id } }`, "name", false},
	{"updateTenant.industry", "admin:acme", `mutation($v: String!) { updateTenant(slug: "acme", input: {industry: $v}) { id } }`, "industry", false},
	{"updateTenant.brandColor", "admin:acme", `mutation($v: String!) { updateTenant(slug: "acme", input: {brandColor: $v}) { id } }`, "brandColor", false},
	{"updateTenant.domains", "admin:acme", `mutation($v: String!) { updateTenant(slug: "acme", input: {domains: [$v]}) { id } }`, "domains", false},
	{"createPartner.name", "operator", `mutation($v: String!) { createPartner(input: {slug: "fresh", name: $v}) { id } }`, "name", false},
	{"createPartner.domain", "operator", `mutation($v: String!) { createPartner(input: {slug: "fresh", name: "x", domain: $v}) { id } }`, "domain", false},
	{"createPartner.contactName", "operator", `mutation($v: String!) { createPartner(input: {slug: "fresh", name: "x", contactName: $v}) { id } }`, "contactName", false},
	{"createPartner.contactEmail", "operator", `mutation($v: String!) { createPartner(input: {slug: "fresh", name: "x", contactEmail: $v}) { id } }`, "contactEmail", false},
	{"createPartner.contactPhone", "operator", `mutation($v: String!) { createPartner(input: {slug: "fresh", name: "x", contactPhone: $v}) { id } }`, "contactPhone", false},
	{"createPartner.billingEmail", "operator", `mutation($v: String!) { createPartner(input: {slug: "fresh", name: "x", billingEmail: $v}) { id } }`, "billingEmail", false},
	{"createPartner.vatId", "operator", `mutation($v: String!) { createPartner(input: {slug: "fresh", name: "x", vatId: $v}) { id } }`, "vatId", false},
	{"createPartner.billingCountry", "operator", `mutation($v: String!) { createPartner(input: {slug: "fresh", name: "x", billingCountry: $v}) { id } }`, "billingCountry", false},
	{"updatePartner.name", "operator", `mutation($v: String!) { updatePartner(slug: "northwind", input: {name: $v}) { id } }`, "name", false},
	{"updatePartner.contactName", "operator", `mutation($v: String!) { updatePartner(slug: "northwind", input: {contactName: $v}) { id } }`, "contactName", false},
	{"updatePartner.vatId", "operator", `mutation($v: String!) { updatePartner(slug: "northwind", input: {vatId: $v}) { id } }`, "vatId", false},
	{"createFlag.key", "operator", `mutation($v: String!) { createFlag(input: {key: $v}) { id } }`, "key", false},
	{"createFlag.description", "operator", `mutation($v: String!) { createFlag(input: {key: "fresh_flag", description: $v}) { id } }`, "description", true},
	{"createFlag.scope.environments", "operator", `mutation($v: String!) { createFlag(input: {key: "fresh_flag", state: TARGETED, scope: {environments: [$v]}}) { id } }`, "environments", false},
	{"createFlag.scope.tenantSlugs", "operator", `mutation($v: String!) { createFlag(input: {key: "fresh_flag", state: TARGETED, scope: {tenantSlugs: [$v]}}) { id } }`, "tenantSlugs", false},
	{"createFlag.scope.partnerSlugs", "operator", `mutation($v: String!) { createFlag(input: {key: "fresh_flag", state: TARGETED, scope: {partnerSlugs: [$v]}}) { id } }`, "partnerSlugs", false},
	{"createFlag.scope.plans", "operator", `mutation($v: String!) { createFlag(input: {key: "fresh_flag", state: TARGETED, scope: {plans: [$v]}}) { id } }`, "plans", false},
	{"updateFlag.note", "operator", `mutation($v: String!) { updateFlag(key: "existing_flag", input: {note: $v}) { id } }`, "note", true},
	{"updateFlag.description", "operator", `mutation($v: String!) { updateFlag(key: "existing_flag", input: {description: $v}) { id } }`, "description", true},
	{"tenant(slug)", "operator", `query($v: String!) { tenant(slug: $v) { id } }`, "slug", false},
	{"partner(slug)", "operator", `query($v: String!) { partner(slug: $v) { id } }`, "slug", false},
	{"flag(key)", "operator", `query($v: String!) { flag(key: $v) { id } }`, "key", false},
	{"evaluateFlags.environment", "operator", `query($v: String!) { evaluateFlags(tenantSlug: "acme", environment: $v) { key } }`, "environment", false},
	{"tenants.where.nameContains", "operator", `query($v: String!) { tenants(where: {nameContains: $v}) { totalCount } }`, "nameContains", false},
	{"tenants.where.or.slug", "operator", `query($v: String!) { tenants(where: {or: [{slug: "acme"}, {slugIn: ["x", $v]}]}) { totalCount } }`, "slugIn", false},
	{"auditEvents.where.q", "admin:acme", `query($v: String!) { auditEvents(where: {q: $v}) { totalCount } }`, "q", false},
	{"auditEvents.where.actionPrefix", "operator", `query($v: String!) { auditEvents(where: {actionPrefix: $v}) { totalCount } }`, "actionPrefix", false},
}

// TestTextInputsRefuseControlCharacters sends every refused character, at
// the start, inside and at the end of a value, to every text input: each is
// BAD_USER_INPUT naming the field, and nothing is written.
func TestTextInputsRefuseControlCharacters(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			s.Query("operator", `mutation { createFlag(input: {key: "existing_flag"}) { id } }`, nil).Decode(t, &struct{}{})
			before := countRows(t, s)
			for _, in := range textInputs {
				t.Run(in.name, func(t *testing.T) {
					for _, c := range refused {
						for _, v := range []string{c + "acme", "ac" + c + "me", "acme" + c} {
							rsp := s.Query(in.as, in.query, map[string]any{"v": v})
							if got := rsp.Code(); got != "BAD_USER_INPUT" {
								t.Fatalf("%q: code = %q, want BAD_USER_INPUT (%s)", v, got, rsp.Body)
							}
							if got := rsp.Errors[0].Extensions["field"]; got != in.field {
								t.Fatalf("%q: field = %v, want %q", v, got, in.field)
							}
						}
					}
					// Line breaks only in multi-line text.
					rsp := s.Query(in.as, in.query, map[string]any{"v": "two\nlines"})
					if in.multiLine {
						if len(rsp.Errors) > 0 {
							t.Fatalf("multi-line value refused: %s", rsp.Body)
						}
					} else if rsp.Code() != "BAD_USER_INPUT" {
						t.Fatalf("line break: code = %q, want BAD_USER_INPUT (%s)", rsp.Code(), rsp.Body)
					}
					// Too long anywhere.
					rsp = s.Query(in.as, in.query, map[string]any{"v": strings.Repeat("a", inputcheck.MaxString+1)})
					if rsp.Code() != "BAD_USER_INPUT" {
						t.Fatalf("over-long value: code = %q, want BAD_USER_INPUT (%s)", rsp.Code(), rsp.Body)
					}
				})
				if in.multiLine {
					// The accepted multi-line writes change the flag; take
					// a new baseline after them.
					before = countRows(t, s)
				}
			}
			// Literals are checked like variables.
			rsp := s.Query("operator", "mutation { createTenant(input: {slug: \"fresh\", name: \"a\\u0000b\"}) { id } }", nil)
			if rsp.Code() != "BAD_USER_INPUT" || rsp.Errors[0].Extensions["field"] != "name" {
				t.Fatalf("literal NUL: %s", rsp.Body)
			}
			if after := countRows(t, s); after != before {
				t.Fatal("refused inputs changed the database")
			}
		})
	}
}

// TestTextInputsAcceptOrdinaryText keeps the checks from refusing real
// names: accents, CJK, emoji with joiners, RTL script.
func TestTextInputsAcceptOrdinaryText(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			for i, name := range []string{"Müller & Söhne GmbH", "株式会社テスト", "👩‍💻 Devs", "شركة الاختبار", "Zero\u200dJoiner"} {
				q := `mutation($s: String!, $n: String!) { createTenant(input: {slug: $s, name: $n}) { name } }`
				var out struct{ CreateTenant struct{ Name string } }
				s.Query("operator", q, map[string]any{"s": fmt.Sprintf("plain-%d", i), "n": name}).Decode(t, &out)
				if out.CreateTenant.Name != name {
					t.Fatalf("name = %q, want %q", out.CreateTenant.Name, name)
				}
			}
		})
	}
}

// TestListInputsAreCapped checks the list limits: a tenant's domains, each
// flag scope list, and any list argument.
func TestListInputsAreCapped(t *testing.T) {
	domains := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("d%d.example", i)
		}
		return out
	}
	slugs := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("slug-%d", i)
		}
		return out
	}
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			before := countRows(t, s)
			cases := []struct {
				name, query, field string
				v                  any
			}{
				{"domains over the tenant cap", `mutation($v: [String!]) { updateTenant(slug: "acme", input: {domains: $v}) { id } }`, "domains", domains(inputcheck.MaxDomains + 1)},
				{"domains over the list cap", `mutation($v: [String!]) { createTenant(input: {slug: "fresh", name: "x", domains: $v}) { id } }`, "domains", domains(10_000)},
				{"scope tenantSlugs", `mutation($v: [String!]) { createFlag(input: {key: "fresh_flag", state: TARGETED, scope: {tenantSlugs: $v}}) { id } }`, "tenantSlugs", slugs(inputcheck.MaxScopeList + 1)},
				{"scope partnerSlugs", `mutation($v: [String!]) { createFlag(input: {key: "fresh_flag", state: TARGETED, scope: {partnerSlugs: $v}}) { id } }`, "partnerSlugs", slugs(inputcheck.MaxScopeList + 1)},
				{"scope environments", `mutation($v: [String!]) { createFlag(input: {key: "fresh_flag", state: TARGETED, scope: {environments: $v}}) { id } }`, "environments", slugs(inputcheck.MaxScopeList + 1)},
				{"where slugIn", `query($v: [String!]) { tenants(where: {slugIn: $v}) { totalCount } }`, "slugIn", slugs(inputcheck.MaxList + 1)},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					rsp := s.Query("operator", tc.query, map[string]any{"v": tc.v})
					if rsp.Code() != "BAD_USER_INPUT" || rsp.Errors[0].Extensions["field"] != tc.field {
						t.Fatalf("want BAD_USER_INPUT on %q, got %s", tc.field, rsp.Body)
					}
				})
			}
			if after := countRows(t, s); after != before {
				t.Fatal("refused inputs changed the database")
			}
			// At the cap is fine.
			var out struct{ UpdateTenant struct{ Domains []string } }
			s.Query("operator", `mutation($v: [String!]) { updateTenant(slug: "acme", input: {domains: $v}) { domains } }`,
				map[string]any{"v": domains(inputcheck.MaxDomains)}).Decode(t, &out)
			if len(out.UpdateTenant.Domains) != inputcheck.MaxDomains {
				t.Fatalf("%d domains kept, want %d", len(out.UpdateTenant.Domains), inputcheck.MaxDomains)
			}
		})
	}
}

// TestEntValidatorsRefuseControlCharacters checks the root: writes that do
// not come through GraphQL are refused by the ent field validators.
func TestEntValidatorsRefuseControlCharacters(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := rule.Bypass(context.Background())
		c := d.Client
		checks := map[string]error{
			"tenant.name":     c.Tenant.Create().SetSlug("fresh").SetName("a\x00b").Exec(ctx),
			"tenant.industry": c.Tenant.Create().SetSlug("fresh").SetName("x").SetIndustry("a\u202eb").Exec(ctx),
			"tenant.domains":  c.Tenant.Create().SetSlug("fresh").SetName("x").SetDomains(make([]string, inputcheck.MaxDomains+1)).Exec(ctx),
			"partner.name":    c.Partner.Create().SetSlug("fresh").SetName("a\nb").Exec(ctx),
			"partner.email":   c.Partner.Create().SetSlug("fresh").SetName("x").SetContactEmail("a\x00@b.example").Exec(ctx),
			"flag.desc":       c.Flag.Create().SetKey("fresh_flag").SetDescription("a\x00b").Exec(ctx),
			"user.name":       c.User.Create().SetSubject("s").SetEmail("e@x.example").SetName("a\u2028b").Exec(ctx),
			"domain.name":     c.MailDomain.Create().SetName("a\x00.example").SetTenantID(1).SetOwnershipToken("t").Exec(ctx),
		}
		for name, err := range checks {
			if !ent.IsValidationError(err) {
				t.Errorf("%s: err = %v, want a validation error", name, err)
			}
		}
		// Multi-line text keeps its line breaks.
		if err := c.Flag.Create().SetKey("fresh_flag").SetDescription("one\ntwo\tthree").Exec(ctx); err != nil {
			t.Fatalf("multi-line description: %v", err)
		}
	})
}

// TestDomainBelongsToOneTenant: pending claims block nobody, but a domain
// another tenant has verified is CONFLICT, whatever its spelling, and the
// answer does not name the holder.
func TestDomainBelongsToOneTenant(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			create := `mutation($s: String!, $d: [String!]) { createTenant(input: {slug: $s, name: "Holder Ltd", domains: $d}) { domains } }`
			var out struct{ CreateTenant struct{ Domains []string } }
			s.Query("operator", create, map[string]any{"s": "holder", "d": []string{"Shared.Example.", "bücher.example"}}).Decode(t, &out)
			if got := strings.Join(out.CreateTenant.Domains, ","); got != "shared.example,xn--bcher-kva.example" {
				t.Fatalf("normalised domains = %s", got)
			}
			s.WaitProvisioned() // background provisioning of the new tenant settles first
			update := `mutation($d: [String!]) { updateTenant(slug: "acme", input: {domains: $d}) { domains } }`
			// Pending: another tenant may claim it too.
			s.Query("admin:acme", update, map[string]any{"d": []string{"acme.example", "shared.example"}}).Decode(t, &struct{}{})
			s.Query("admin:acme", update, map[string]any{"d": []string{"acme.example"}}).Decode(t, &struct{}{})
			s.WaitProvisioned()
			// The holder verifies both (the state verifyMailDomain leaves a
			// domain in when its records check out).
			ctx := rule.Bypass(context.Background())
			if n, err := s.DB.Client.MailDomain.Update().Where(maildomain.NameIn("shared.example", "xn--bcher-kva.example")).
				SetStatus(maildomain.StatusVerified).SetVerifiedAt(time.Now()).Save(ctx); err != nil || n != 2 {
				t.Fatalf("verify the holder's domains: %d, %v", n, err)
			}
			before := countRows(t, s)
			for _, as := range []string{"admin:acme", "partner:northwind", "operator"} {
				for _, spelling := range []string{"shared.example", "SHARED.EXAMPLE", " shared.example. ", "xn--bcher-kva.example", "BÜCHER.example", "Bu\u0308cher.example"} {
					rsp := s.Query(as, update, map[string]any{"d": []string{"acme.example", spelling}})
					if rsp.Code() != "CONFLICT" {
						t.Fatalf("%s claims %q: code = %q, want CONFLICT (%s)", as, spelling, rsp.Code(), rsp.Body)
					}
					if m := rsp.Errors[0].Message; strings.Contains(m, "holder") || strings.Contains(m, "Holder") {
						t.Fatalf("conflict message names the holder: %q", m)
					}
				}
			}
			rsp := s.Query("operator", create, map[string]any{"s": "second", "d": []string{"SHARED.example"}})
			if rsp.Code() != "CONFLICT" {
				t.Fatalf("create with a verified domain: %s", rsp.Body)
			}
			if after := countRows(t, s); after != before {
				t.Fatal("refused claims changed the database")
			}
			// Re-saving one's own domains is no conflict; unlisting a
			// verified one is (removeMailDomain checks it is unused).
			s.Query("operator", `mutation { updateTenant(slug: "holder", input: {domains: ["shared.example", "xn--bcher-kva.example"]}) { id } }`, nil).Decode(t, &struct{}{})
			if code := s.Query("operator", `mutation { updateTenant(slug: "holder", input: {domains: ["xn--bcher-kva.example"]}) { id } }`, nil).Code(); code != "CONFLICT" {
				t.Fatalf("unlisting a verified domain: code %q, want CONFLICT", code)
			}
			// A deleted tenant's domains are free again.
			s.Query("operator", `mutation { deleteTenant(slug: "holder") { id } }`, nil).Decode(t, &struct{}{})
			s.Query("admin:acme", update, map[string]any{"d": []string{"acme.example", "shared.example", "bücher.example"}}).Decode(t, &struct{}{})
			// The mail domains follow the tenants' lists.
			var n int
			if err := s.DB.SQL.QueryRow(`SELECT COUNT(*) FROM mail_domains WHERE name IN ('shared.example', 'xn--bcher-kva.example', 'acme.example')`).Scan(&n); err != nil || n != 3 {
				t.Fatalf("mail domains = %d, %v; want 3", n, err)
			}
		})
	}
}

// TestConcurrentDomainClaims: two tenants claim the same domain at once,
// many times over; pending claims block nobody, so both succeed, each
// with its own pending domain and ownership token.
func TestConcurrentDomainClaims(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			for _, slug := range []string{"red", "blue"} {
				s.Query("operator", `mutation($s: String!) { createTenant(input: {slug: $s, name: "x"}) { id } }`, map[string]any{"s": slug}).Decode(t, &struct{}{})
			}
			const rounds = 15
			for i := 0; i < rounds; i++ {
				domain := fmt.Sprintf("race-%d.example", i)
				codes := make([]string, 2)
				var wg sync.WaitGroup
				for j, slug := range []string{"red", "blue"} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var q string
						if i%2 == 0 {
							q = `mutation($s: String!, $d: [String!]) { updateTenant(slug: $s, input: {domains: $d}) { id } }`
						} else {
							// Creation races too.
							q = `mutation($s: String!, $d: [String!]) { createTenant(input: {slug: $s, name: "x", domains: $d}) { id } }`
							slug = fmt.Sprintf("%s-%d", slug, i)
						}
						codes[j] = s.Query("operator", q, map[string]any{"s": slug, "d": []string{domain}}).Code()
					}()
				}
				wg.Wait()
				if codes[0] != "" || codes[1] != "" {
					t.Fatalf("round %d: codes %q, want two successes", i, codes)
				}
				var n, tokens int
				if err := s.DB.SQL.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT ownership_token) FROM mail_domains WHERE status = 'PENDING' AND name = '`+domain+`'`).Scan(&n, &tokens); err != nil || n != 2 || tokens != 2 {
					t.Fatalf("round %d: %d pending claims with %d tokens, %v", i, n, tokens, err)
				}
			}
		})
	}
}

// TestHTTPTextInputs covers the text inputs outside GraphQL arguments: the
// audit export's filters and the Idempotency-Key header.
func TestHTTPTextInputs(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			for _, p := range []string{"q", "actorEmail", "tenantSlug", "actionPrefix"} {
				for _, c := range []string{"\x00", "\x1b", "\u202e", "\u2028"} {
					code, _, _ := exportCSV(t, s, s.Token("operator"), url.Values{p: {"a" + c}})
					if code != http.StatusBadRequest {
						t.Fatalf("export %s=%q: HTTP %d, want 400", p, c, code)
					}
				}
			}
			if code, _, _ := exportCSV(t, s, s.Token("operator"), url.Values{"q": {strings.Repeat("a", inputcheck.MaxString+1)}}); code != http.StatusBadRequest {
				t.Fatalf("over-long q: HTTP %d, want 400", code)
			}
			if code, _, _ := exportCSV(t, s, s.Token("operator"), url.Values{"q": {"tenant"}}); code != http.StatusOK {
				t.Fatalf("plain q: HTTP %d", code)
			}
			before := countRows(t, s)
			for _, key := range []string{"key\u202eevil", "key\u200b", "k\u2028"} {
				rsp := s.Do(testserver.Request{
					Query: `mutation { updateTenant(slug: "acme", input: {seats: 7}) { id } }`, Token: s.Token("operator"),
					Headers: map[string]string{"Idempotency-Key": key},
				})
				if rsp.Status != http.StatusBadRequest || rsp.Code() != "BAD_USER_INPUT" {
					t.Fatalf("Idempotency-Key %q: HTTP %d %s", key, rsp.Status, rsp.Body)
				}
			}
			if after := countRows(t, s); after != before {
				t.Fatal("refused requests changed the database")
			}
		})
	}
}
