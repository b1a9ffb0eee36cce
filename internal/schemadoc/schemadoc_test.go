package schemadoc

import "testing"

func TestWhereDescription(t *testing.T) {
	fields := map[string]bool{}
	for _, f := range []string{"not", "and", "or", "slug", "slugNEQ", "slugNotIn", "slugIn", "slugContainsFold", "nameIsNil", "name", "hasPartner", "hasPartnerWith", "createdAtGTE", "createdAt"} {
		fields[f] = true
	}
	for field, want := range map[string]string{
		"not":              "Matches a Tenant the given condition does not match.",
		"slug":             "Matches when slug equals the value.",
		"slugNEQ":          "Matches when slug does not equal the value.",
		"slugNotIn":        "Matches when slug is none of the values.",
		"slugIn":           "Matches when slug is one of the values.",
		"slugContainsFold": "Matches when slug contains the value, ignoring case.",
		"nameIsNil":        "Matches when name is not set.",
		"createdAtGTE":     "Matches when createdAt is greater than or equal to the value.",
		"hasPartner":       "Matches a Tenant that has (true) or lacks (false) a partner edge.",
		"hasPartnerWith":   "Matches a Tenant with at least one partner edge matching every given condition.",
	} {
		if got := whereDescription("Tenant", field, fields); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
}
