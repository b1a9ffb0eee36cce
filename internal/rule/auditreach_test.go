package rule_test

import (
	"testing"

	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
)

func TestAuditReachNamesTheFilter(t *testing.T) {
	admin := func(ids ...int) map[int]viewer.Role {
		m := map[int]viewer.Role{}
		for _, id := range ids {
			m[id] = viewer.RoleAdmin
		}
		return m
	}
	reaches := map[string]string{}
	for name, v := range map[string]*viewer.Viewer{
		"operator":               {Operator: true},
		"admin of 1":             {Tenants: admin(1)},
		"admin of 1 and 2":       {Tenants: admin(1, 2)},
		"staff of 7":             {PartnerID: 7},
		"staff of 7, admin of 1": {PartnerID: 7, Tenants: admin(1)},
		"member of 1":            {Tenants: map[int]viewer.Role{1: viewer.RoleMember}},
	} {
		r := rule.AuditReach(v)
		if other, dup := reaches[r]; dup {
			t.Fatalf("%s and %s share the reach %q", name, other, r)
		}
		reaches[r] = name
		t.Logf("%s: %s", name, r)
	}
	// The same reach, however the viewer came by it.
	a := rule.AuditReach(&viewer.Viewer{Subject: "a", Tenants: admin(2, 1), PartnerID: 7})
	b := rule.AuditReach(&viewer.Viewer{Subject: "b", Tenants: admin(1, 2), PartnerID: 7, Email: "b@example.com"})
	if a != b {
		t.Fatalf("equal reaches differ: %q, %q", a, b)
	}
}
