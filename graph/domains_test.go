package graph_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/internal/viewer"
)

// TestDomainBelongsToOneTenant: claiming a domain another tenant holds is
// a CONFLICT that names no tenant and changes nothing, in every spelling
// and on create and update; concurrent claims of one new domain leave it
// on exactly one tenant.
func TestDomainBelongsToOneTenant(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			sys := viewer.SystemContext(context.Background())
			s.DB.Client.Tenant.Update().Where(tenant.Slug("globex")).SetDomains([]string{"globex.example"}).ExecX(sys)
			s.DB.Client.Tenant.Update().Where(tenant.Slug("acme")).SetDomains([]string{"acme.example"}).ExecX(sys)
			for _, tc := range []struct{ name, as, query string }{
				{"admin claims another tenant's domain", "admin:acme", `mutation { updateTenant(slug: "acme", input: {domains: ["acme.example", "globex.example"]}) { id } }`},
				{"other spelling", "admin:acme", `mutation { updateTenant(slug: "acme", input: {domains: [" GLOBEX.example. "]}) { id } }`},
				{"operator update", "operator", `mutation { updateTenant(slug: "acme", input: {domains: ["globex.example"]}) { id } }`},
				{"create", "operator", `mutation { createTenant(input: {slug: "dup-dom", name: "Dup", domains: ["acme.example"]}) { id } }`},
				{"partner updates its tenant", "partner:northwind", `mutation { updateTenant(slug: "acme", input: {domains: ["globex.example"]}) { id } }`},
			} {
				before := countRows(t, s)
				rsp := s.Query(tc.as, tc.query, nil)
				if rsp.Code() != "CONFLICT" {
					t.Fatalf("%s: code %q, want CONFLICT: %s", tc.name, rsp.Code(), rsp.Body)
				}
				if msg := rsp.Errors[0].Message; strings.Contains(strings.ToLower(msg), "globex\"") || strings.Contains(msg, "acme\"") {
					t.Fatalf("%s: the conflict names the holder: %s", tc.name, msg)
				}
				if after := countRows(t, s); after != before {
					t.Fatalf("%s: refused claim changed the database", tc.name)
				}
			}
			// Keeping one's own domains, and taking a free one, still work.
			s.Query("admin:acme", `mutation { updateTenant(slug: "acme", input: {domains: ["acme.example", "acme-mail.example"]}) { id } }`, nil).Decode(t, &struct{}{})
			// A deleted tenant releases its domains.
			s.Query("operator", `mutation { createTenant(input: {slug: "gone", name: "Gone", domains: ["gone.example"]}) { id } }`, nil).Decode(t, &struct{}{})
			s.WaitProvisioned()
			s.Query("operator", `mutation { deleteTenant(slug: "gone") { id } }`, nil).Decode(t, &struct{}{})
			s.WaitProvisioned()
			s.Query("operator", `mutation { updateTenant(slug: "globex", input: {domains: ["globex.example", "gone.example"]}) { id } }`, nil).Decode(t, &struct{}{})

			// Concurrent claims of one new domain: exactly one wins.
			var wg sync.WaitGroup
			codes := make([]string, 12)
			tok := s.Token("operator")
			for i := range codes {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					rsp := s.Do(testserver.Request{Token: tok, Query: fmt.Sprintf(`mutation { createTenant(input: {slug: "race-%d", name: "Race", domains: ["race.example"]}) { id } }`, i)})
					codes[i] = rsp.Code()
				}(i)
			}
			wg.Wait()
			ok := 0
			for _, c := range codes {
				switch c {
				case "":
					ok++
				case "CONFLICT", "UNAVAILABLE":
				default:
					t.Fatalf("concurrent claim answered %q", c)
				}
			}
			holders := 0
			for _, tn := range s.DB.Client.Tenant.Query().AllX(sys) {
				for _, dom := range tn.Domains {
					if dom == "race.example" {
						holders++
					}
				}
			}
			if ok != 1 || holders != 1 {
				t.Fatalf("%d claims succeeded and %d tenants hold the domain, want 1 and 1 (codes %v)", ok, holders, codes)
			}
			s.WaitProvisioned()
		})
	}
}
