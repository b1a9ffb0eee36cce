package graph_test

import (
	"fmt"
	"testing"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// TestProvisioningOfAListMatchesEachTenant: the provisioning of a page of
// tenants, loaded for the page at once, is each tenant's own provisioning,
// for an operator (every tenant) and for a partner (its tenants only).
func TestProvisioningOfAListMatchesEachTenant(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			for i := range 6 {
				partner := ""
				if i%2 == 0 {
					partner = `, partnerSlug: "northwind"`
				}
				s.Query("operator", fmt.Sprintf(`mutation { createTenant(input: {slug: "page-%d", name: "Page %d"%s}) { slug } }`, i, i, partner), nil).
					Decode(t, &struct{}{})
			}
			s.WaitProvisioned()
			for _, as := range []string{"operator", "partner:northwind"} {
				var list struct {
					Tenants struct {
						Edges []struct {
							Node struct {
								Slug         string
								Provisioning []provisioningRow
							}
						}
					}
				}
				s.Query(as, `{ tenants(first: 50) { edges { node { slug provisioning { integration status message updatedAt } } } } }`, nil).
					Decode(t, &list)
				if len(list.Tenants.Edges) < 4 {
					t.Fatalf("%s: %d tenants", as, len(list.Tenants.Edges))
				}
				for _, e := range list.Tenants.Edges {
					var one struct {
						Tenant struct{ Provisioning []provisioningRow }
					}
					s.Query(as, `query($s: String!) { tenant(slug: $s) { provisioning { integration status message updatedAt } } }`,
						map[string]any{"s": e.Node.Slug}).Decode(t, &one)
					if a, b := fmt.Sprint(e.Node.Provisioning), fmt.Sprint(one.Tenant.Provisioning); a != b || len(e.Node.Provisioning) != 4 {
						t.Errorf("%s: %s in the list %s, alone %s", as, e.Node.Slug, a, b)
					}
				}
			}
		})
	}
}
