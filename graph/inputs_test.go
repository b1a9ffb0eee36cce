package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// TestTextAndListInputsValidated: every text input refuses NUL and
// control characters and every list input is capped, whether the value is
// a literal or a variable; the refusal is BAD_USER_INPUT naming the input
// and changes nothing.
func TestTextAndListInputsValidated(t *testing.T) {
	bad := map[string]string{
		"NUL": "a\x00b", "SOH": "a\x01b", "ESC": "a\x1b[31mb", "DEL": "a\x7fb", "C1 NEL": "a\u0085b",
		"newline": "a\nb", "tab": "a\tb", "line separator": "a\u2028b",
	}
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			tok := s.Token("operator")
			check := func(t *testing.T, name, query string, vars map[string]any, field string) {
				t.Helper()
				before := countRows(t, s)
				rsp := s.Do(testserver.Request{Token: tok, Query: query, Variables: vars})
				if rsp.Code() != "BAD_USER_INPUT" {
					t.Fatalf("%s: code %q, want BAD_USER_INPUT: %s", name, rsp.Code(), rsp.Body)
				}
				if f, _ := rsp.Errors[0].Extensions["field"].(string); f != field {
					t.Fatalf("%s: field %q, want %q", name, f, field)
				}
				if after := countRows(t, s); after != before {
					t.Fatalf("%s: refused input changed the database", name)
				}
			}
			for what, v := range bad {
				for _, tc := range []struct{ field, query, varType string }{
					{"name", `mutation($v: String!) { createTenant(input: {slug: "iv-t", name: $v}) { id } }`, ""},
					{"slug", `mutation($v: String!) { createTenant(input: {slug: $v, name: "X"}) { id } }`, ""},
					{"name", `mutation($v: String!) { updateTenant(slug: "acme", input: {name: $v}) { id } }`, ""},
					{"industry", `mutation($v: String!) { updateTenant(slug: "acme", input: {industry: $v}) { id } }`, ""},
					{"domains", `mutation($v: String!) { updateTenant(slug: "acme", input: {domains: [$v]}) { id } }`, ""},
					{"contactEmail", `mutation($v: String!) { createPartner(input: {slug: "iv-p", name: "P", contactEmail: $v}) { id } }`, ""},
					{"name", `mutation($v: String!) { createPartner(input: {slug: "iv-p", name: $v}) { id } }`, ""},
					{"key", `mutation($v: String!) { createFlag(input: {key: $v}) { id } }`, ""},
					{"note", `mutation($v: String!) { updateFlag(key: "jmap_native_v2", input: {note: $v}) { id } }`, ""},
					{"plans", `mutation($v: String!) { updateFlag(key: "jmap_native_v2", input: {scope: {plans: [$v]}}) { id } }`, ""},
					{"slug", `query($v: String!) { tenant(slug: $v) { id } }`, ""},
				} {
					if (what == "newline" || what == "tab") && tc.field == "note" {
						continue
					}
					check(t, what+" in "+tc.field, tc.query, map[string]any{"v": v}, tc.field)
				}
				// As a literal in the document, too.
				if !strings.ContainsAny(v, "\x00\xff") {
					check(t, what+" literal", fmt.Sprintf(`mutation { updateTenant(slug: "acme", input: {name: %s}) { id } }`, gqlQuote(v)), nil, "name")
				}
			}
			// Descriptions may hold line breaks and tabs, never NUL.
			check(t, "NUL in description", `mutation($v: String!) { createFlag(input: {key: "iv_flag", description: $v}) { id } }`, map[string]any{"v": "a\x00b"}, "description")
			if rsp := s.Do(testserver.Request{Token: tok, Query: `mutation($v: String!) { createFlag(input: {key: "iv_flag", description: $v}) { id } }`,
				Variables: map[string]any{"v": "line one\n\tline two"}}); len(rsp.Errors) > 0 {
				t.Fatalf("multi-line description refused: %s", rsp.Body)
			}
			// Lists are capped.
			many := func(n int, f string) []any {
				out := make([]any, n)
				for i := range out {
					out[i] = fmt.Sprintf(f, i)
				}
				return out
			}
			for _, n := range []int{51, 1000, 10000} {
				check(t, fmt.Sprint(n, " domains"), `mutation($v: [String!]) { updateTenant(slug: "acme", input: {domains: $v}) { id } }`, map[string]any{"v": many(n, "d%d.example")}, "domains")
				check(t, fmt.Sprint(n, " domains on create"), `mutation($v: [String!]) { createTenant(input: {slug: "iv-d", name: "D", domains: $v}) { id } }`, map[string]any{"v": many(n, "d%d.example")}, "domains")
			}
			for _, field := range []string{"plans", "tenantSlugs", "partnerSlugs", "environments"} {
				check(t, "101 "+field, `mutation($v: [String!]) { updateFlag(key: "jmap_native_v2", input: {scope: {`+field+`: $v}}) { id } }`, map[string]any{"v": many(101, "s%d")}, field)
			}
			if rsp := s.Do(testserver.Request{Token: tok, Query: `mutation($v: [String!]) { updateTenant(slug: "acme", input: {domains: $v}) { id } }`,
				Variables: map[string]any{"v": many(50, "acme%d.example")}}); len(rsp.Errors) > 0 {
				t.Fatalf("50 domains refused: %s", rsp.Body)
			}
		})
	}
}

// gqlQuote quotes s as a GraphQL string literal, escaping every rune
// outside printable ASCII as \uXXXX.
func gqlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r >= 0x20 && r < 0x7f && r != '"' && r != '\\' {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
