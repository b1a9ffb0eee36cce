package graph_test

import (
	"fmt"
	"testing"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

func TestPartners(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			var created struct {
				CreatePartner struct {
					Slug, Status  string
					ContactEmail  *string
					MarginPct     int
					CustomerCount int
				}
			}
			// Blank optional strings are "unset", never a validation error.
			s.Query("operator", `mutation { createPartner(input: {slug: "contoso", name: "Contoso", contactEmail: "", billingEmail: "  ", marginPct: 30}) {
				slug status contactEmail marginPct customerCount } }`, nil).Decode(t, &created)
			if c := created.CreatePartner; c.Slug != "contoso" || c.Status != "ACTIVE" || c.ContactEmail != nil || c.MarginPct != 30 || c.CustomerCount != 0 {
				t.Fatalf("createPartner = %+v", c)
			}
			var upd struct {
				UpdatePartner struct {
					ContactEmail *string
					Domain       *string
				}
			}
			s.Query("operator", `mutation { updatePartner(slug: "contoso", input: {contactEmail: "ops@contoso.example", domain: "contoso.example"}) { contactEmail domain } }`, nil).Decode(t, &upd)
			if upd.UpdatePartner.ContactEmail == nil || *upd.UpdatePartner.ContactEmail != "ops@contoso.example" {
				t.Fatalf("contactEmail = %v", upd.UpdatePartner.ContactEmail)
			}
			s.Query("operator", `mutation { updatePartner(slug: "contoso", input: {contactEmail: ""}) { contactEmail domain } }`, nil).Decode(t, &upd)
			if upd.UpdatePartner.ContactEmail != nil || upd.UpdatePartner.Domain == nil {
				t.Fatalf("blank contactEmail should unset only it: %+v", upd.UpdatePartner)
			}
			ev := auditEvents(t, s, map[string]any{"actionPrefix": "partner.updated", "partnerSlug": "contoso"})
			if len(ev) != 2 {
				t.Fatalf("partner.updated events = %d, want 2", len(ev))
			}
			if diff := ev[0].Metadata["diff"].(map[string]any); len(diff) != 1 || diff["contactEmail"] == nil {
				t.Fatalf("latest diff = %v, want only contactEmail", diff)
			}
			for _, tc := range []struct{ name, query, code, field string }{
				{"bad email", `mutation { updatePartner(slug: "contoso", input: {contactEmail: "nope"}) { id } }`, "BAD_USER_INPUT", "contactEmail"},
				{"bad margin", `mutation { updatePartner(slug: "contoso", input: {marginPct: 101}) { id } }`, "BAD_USER_INPUT", "marginPct"},
				{"bad country", `mutation { updatePartner(slug: "contoso", input: {billingCountry: "Germany"}) { id } }`, "BAD_USER_INPUT", "billingCountry"},
				{"duplicate", `mutation { createPartner(input: {slug: "contoso", name: "Again"}) { id } }`, "CONFLICT", ""},
				{"unknown", `mutation { terminatePartner(slug: "nobody") { id } }`, "NOT_FOUND", ""},
			} {
				rsp := s.Query("operator", tc.query, nil)
				if rsp.Code() != tc.code || (tc.field != "" && rsp.Errors[0].Extensions["field"] != tc.field) {
					t.Fatalf("%s: %s", tc.name, rsp.Body)
				}
			}
			// Attach a tenant, count it, terminate, refuse new attachments.
			s.Query("operator", `mutation { updateTenant(slug: "globex", input: {partnerSlug: "contoso"}) { id } }`, nil).Decode(t, &struct{}{})
			var p struct{ Partner struct{ CustomerCount int } }
			s.Query("operator", `{ partner(slug: "contoso") { customerCount } }`, nil).Decode(t, &p)
			if p.Partner.CustomerCount != 1 {
				t.Fatalf("customerCount = %d, want 1", p.Partner.CustomerCount)
			}
			var term struct{ TerminatePartner struct{ Status string } }
			s.Query("operator", `mutation { terminatePartner(slug: "contoso") { status } }`, nil).Decode(t, &term)
			if term.TerminatePartner.Status != "TERMINATED" {
				t.Fatalf("status = %s", term.TerminatePartner.Status)
			}
			if rsp := s.Query("operator", `mutation { updateTenant(slug: "acme", input: {partnerSlug: "contoso"}) { id } }`, nil); rsp.Code() != "BAD_USER_INPUT" {
				t.Fatalf("attach to terminated partner: %s", rsp.Body)
			}
			// Partner staff see their own partner only.
			var list struct {
				Partners struct{ TotalCount int }
			}
			s.Query("partner:northwind", `{ partners { totalCount } }`, nil).Decode(t, &list)
			if list.Partners.TotalCount != 1 {
				t.Fatalf("staff see %d partners, want 1", list.Partners.TotalCount)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			var list struct{ Flags struct{ TotalCount int } }
			s.Query("operator", `{ flags { totalCount } }`, nil).Decode(t, &list)
			if list.Flags.TotalCount != 10 {
				t.Fatalf("seed flags = %d, want 10", list.Flags.TotalCount)
			}
			s.Query("operator", `mutation { createFlag(input: {key: "beta_ui", description: "Beta UI"}) { key } }`, nil).Decode(t, &struct{}{})
			// 25 updates: history keeps the newest 20, with the actor.
			for i := 1; i <= 25; i++ {
				s.Query("operator", fmt.Sprintf(`mutation { updateFlag(key: "beta_ui", input: {state: ROLLOUT, pct: %d, note: "step %d"}) { pct } }`, i*4, i), nil).Decode(t, &struct{}{})
			}
			var f struct {
				Flag struct {
					State   string
					Pct     int
					History []struct {
						ActorEmail, Note, State string
						Pct                     int
					}
				}
			}
			s.Query("operator", `{ flag(key: "beta_ui") { state pct history { actorEmail note state pct } } }`, nil).Decode(t, &f)
			if f.Flag.Pct != 100 || len(f.Flag.History) != 20 || f.Flag.History[19].Note != "step 25" || f.Flag.History[0].Note != "step 6" ||
				f.Flag.History[19].ActorEmail != "operator@dezky.local" {
				t.Fatalf("flag after 25 updates: pct %d, history %d entries, first %+v, last %+v",
					f.Flag.Pct, len(f.Flag.History), f.Flag.History[0], f.Flag.History[len(f.Flag.History)-1])
			}
			var killed struct {
				KillFlag struct {
					State   string
					Pct     int
					History []struct{ Note string }
				}
			}
			s.Query("operator", `mutation { killFlag(key: "beta_ui") { state pct history { note } } }`, nil).Decode(t, &killed)
			if k := killed.KillFlag; k.State != "OFF" || k.Pct != 0 || k.History[len(k.History)-1].Note != "kill-switch" {
				t.Fatalf("killFlag = %+v", k)
			}
			if ev := auditEvents(t, s, map[string]any{"actionPrefix": "flag.killed"}); len(ev) != 1 {
				t.Fatalf("flag.killed events = %d, want 1", len(ev))
			}
			for _, tc := range []struct{ name, query, code, field string }{
				{"bad key", `mutation { createFlag(input: {key: "Bad Key"}) { key } }`, "BAD_USER_INPUT", "key"},
				{"pct range", `mutation { updateFlag(key: "beta_ui", input: {pct: 101}) { key } }`, "BAD_USER_INPUT", "pct"},
				{"targeted without scope", `mutation { updateFlag(key: "beta_ui", input: {state: TARGETED, scope: {}}) { key } }`, "BAD_USER_INPUT", "scope"},
				{"unknown plan", `mutation { updateFlag(key: "beta_ui", input: {scope: {plans: ["GOLD"]}}) { key } }`, "BAD_USER_INPUT", "scope.plans"},
				{"duplicate", `mutation { createFlag(input: {key: "beta_ui"}) { key } }`, "CONFLICT", ""},
				{"unknown", `mutation { deleteFlag(key: "nope") { key } }`, "NOT_FOUND", ""},
			} {
				rsp := s.Query("operator", tc.query, nil)
				if rsp.Code() != tc.code || (tc.field != "" && rsp.Errors[0].Extensions["field"] != tc.field) {
					t.Fatalf("%s: %s", tc.name, rsp.Body)
				}
			}
			if rsp := s.Query("admin:acme", `{ flags { totalCount } }`, nil); rsp.Code() != "FORBIDDEN" {
				t.Fatalf("tenant admin lists flags: %s", rsp.Body)
			}
			s.Query("operator", `mutation { deleteFlag(key: "beta_ui") { key } }`, nil).Decode(t, &struct{}{})

			// Evaluation: targeted by partner, by plan; deterministic.
			eval := func(as, tenant string) map[string]bool {
				var out struct {
					EvaluateFlags []struct {
						Key     string
						Enabled bool
					}
				}
				s.Query(as, `query($t: String!) { evaluateFlags(tenantSlug: $t) { key enabled } }`, map[string]any{"t": tenant}).Decode(t, &out)
				m := map[string]bool{}
				for _, e := range out.EvaluateFlags {
					m[e.Key] = e.Enabled
				}
				return m
			}
			acme, globex := eval("member:acme", "acme"), eval("admin:globex", "globex")
			if !acme["partner_whitelabel"] || globex["partner_whitelabel"] {
				t.Fatalf("partner-targeted flag: acme %v, globex %v", acme["partner_whitelabel"], globex["partner_whitelabel"])
			}
			if !acme["gdpr_export_v2"] || globex["gdpr_export_v2"] {
				t.Fatalf("plan-targeted flag: acme %v (BUSINESS), globex %v (STARTER)", acme["gdpr_export_v2"], globex["gdpr_export_v2"])
			}
			if !acme["oci_versioning"] || acme["new_billing_engine"] {
				t.Fatal("on/off flags evaluated wrongly")
			}
			if again := eval("operator", "acme"); fmt.Sprint(again) != fmt.Sprint(acme) {
				t.Fatalf("evaluation not deterministic: %v vs %v", again, acme)
			}
			if rsp := s.Query("member:acme", `{ evaluateFlags(tenantSlug: "globex") { key } }`, nil); rsp.Code() != "NOT_FOUND" {
				t.Fatalf("evaluate a foreign tenant: %s", rsp.Body)
			}
		})
	}
}
