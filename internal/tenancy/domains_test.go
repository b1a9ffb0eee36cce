package tenancy

import (
	"strings"
	"testing"
)

func TestNormalizeDomains(t *testing.T) {
	got, err := normalizeDomains([]string{" Acme.Example. ", "acme.example", "", "mail.acme.example"})
	if err != nil || strings.Join(got, ",") != "acme.example,mail.acme.example" {
		t.Fatalf("normalizeDomains = %v, %v", got, err)
	}
	for _, bad := range []string{"acme", "acme..example", "-acme.example", "acme.example/x", "a b.example", strings.Repeat("a", 64) + ".example"} {
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
			if x != strings.ToLower(x) || !hostnamePattern.MatchString(x) {
				t.Fatalf("normalizeDomains(%q) = %q is not a normalised hostname", d, x)
			}
			again, err := normalizeDomains([]string{x})
			if err != nil || len(again) != 1 || again[0] != x {
				t.Fatalf("not idempotent: %q → %v, %v", x, again, err)
			}
		}
	})
}
