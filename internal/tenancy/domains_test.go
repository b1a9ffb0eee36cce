package tenancy

import (
	"strconv"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/domainname"
	"github.com/dezky/platform/internal/inputcheck"
)

func TestNormalizeDomains(t *testing.T) {
	got, err := normalizeDomains([]string{" Acme.Example. ", "acme.example", "", "mail.acme.example"})
	if err != nil || strings.Join(got, ",") != "acme.example,mail.acme.example" {
		t.Fatalf("normalizeDomains = %v, %v", got, err)
	}
	got, err = normalizeDomains([]string{"Bücher.Example", "xn--bcher-kva.example.", "BU\u0308CHER.example", "пример.рф"})
	if err != nil || strings.Join(got, ",") != "xn--bcher-kva.example,xn--e1afmkfd.xn--p1ai" {
		t.Fatalf("IDNA normalisation = %v, %v", got, err)
	}
	many := make([]string, inputcheck.MaxDomains+1)
	for i := range many {
		many[i] = "d" + strconv.Itoa(i) + ".example"
	}
	if _, err := normalizeDomains(many); err == nil {
		t.Errorf("%d domains accepted", len(many))
	}
	if _, err := normalizeDomains(many[:inputcheck.MaxDomains]); err != nil {
		t.Errorf("%d domains refused: %v", inputcheck.MaxDomains, err)
	}
	for _, bad := range []string{"acme", "acme..example", "-acme.example", "acme.example/x", "a b.example", strings.Repeat("a", 64) + ".example",
		"acme.example\x00", "\x00acme.example", "acme.example\n", "\tacme.example", "ac\u202eme.example", "acme\u200b.example", "acme.example\u2028", "xn--.example", "_dmarc.example"} {
		if _, err := normalizeDomains([]string{bad}); err == nil {
			t.Errorf("normalizeDomains(%q): want an error", bad)
		}
	}
}

func FuzzNormalizeDomains(f *testing.F) {
	f.Add("Acme.Example.")
	f.Add("xn--bcher-kva.example")
	f.Fuzz(func(t *testing.T, d string) {
		out, err := normalizeDomains([]string{d, d})
		if err != nil {
			return
		}
		if len(out) > 1 {
			t.Fatalf("duplicates kept: %v", out)
		}
		for _, x := range out {
			if x != strings.ToLower(x) || !domainname.Valid(x) {
				t.Fatalf("normalizeDomains(%q) = %q is not a normalised hostname", d, x)
			}
			again, err := normalizeDomains([]string{x})
			if err != nil || len(again) != 1 || again[0] != x {
				t.Fatalf("not idempotent: %q → %v, %v", x, again, err)
			}
		}
	})
}
