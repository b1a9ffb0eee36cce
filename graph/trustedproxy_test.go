package graph_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// TestAuditActorIPTrustsOnlyProxies: the actor IP of the audit trail
// follows forwarding headers only from --trusted-proxies peers (the test
// connects from 127.0.0.1).
func TestAuditActorIPTrustsOnlyProxies(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				trusted []string
				headers map[string]string
				want    string
			}{
				{"no proxies: XFF ignored", nil, map[string]string{"X-Forwarded-For": "6.6.6.6"}, "127.0.0.1"},
				{"no proxies: Forwarded ignored", nil, map[string]string{"Forwarded": "for=6.6.6.6"}, "127.0.0.1"},
				{"trusted loopback: rightmost untrusted", []string{"127.0.0.0/8"}, map[string]string{"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}, "203.0.113.7"},
				{"trusted loopback: Forwarded", []string{"127.0.0.0/8", "10.0.0.0/8"}, map[string]string{"Forwarded": `for=6.6.6.6, for="198.51.100.9:443", for=10.1.2.3`}, "198.51.100.9"},
				{"other proxy trusted only", []string{"10.0.0.0/8"}, map[string]string{"X-Forwarded-For": "6.6.6.6"}, "127.0.0.1"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					s := testserver.StartWith(t, d, func(c *app.ServeConfig) {
						for _, p := range tc.trusted {
							c.Guards.TrustedProxies = append(c.Guards.TrustedProxies, netip.MustParsePrefix(p))
						}
					})
					tok := s.Token("operator")
					rsp := s.Do(testserver.Request{Token: tok, Headers: tc.headers,
						Query: `mutation { updateTenant(slug: "acme", input: {seats: 41}) { id } }`})
					rsp.Decode(t, &struct{}{})
					var got struct {
						AuditEvents struct {
							Edges []struct{ Node struct{ ActorIP string } }
						}
					}
					s.Query("operator", `{ auditEvents(first: 1, where: {action: "tenant.updated"}, orderBy: {field: AT, direction: DESC}) { edges { node { actorIP } } } }`, nil).Decode(t, &got)
					if len(got.AuditEvents.Edges) != 1 || got.AuditEvents.Edges[0].Node.ActorIP != tc.want {
						t.Fatalf("actor IP %+v, want %s", got.AuditEvents.Edges, fmt.Sprint(tc.want))
					}
				})
			}
		})
	}
}
