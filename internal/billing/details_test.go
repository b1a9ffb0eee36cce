package billing

import (
	"strings"
	"testing"

	"github.com/dezky/platform/internal/apperr"
)

func TestNormalizeVATID(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"", "", ""},
		{"   ", "", ""},
		{"DE123456789", "DE123456789", ""},
		{"de 123.456-789", "DE123456789", ""},
		{"EL123456789", "EL123456789", ""},
		{"XI123456789", "XI123456789", ""},
		{"ATU12345678", "ATU12345678", ""},
		{"NL123456789B01", "NL123456789B01", ""},
		{"GR123456789", "", "EU VAT country prefix"},
		{"US123456789", "", "EU VAT country prefix"},
		{"DE1", "", "too short"},
		{"DE12345678901234", "", "2 to 12"},
		{"DE12_456", "", "2 to 12"},
		{"DE12ä456", "", "2 to 12"},
	} {
		got, err := NormalizeVATID(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("NormalizeVATID(%q) = %q, %v; want an error about %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeVATID(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestApplyDetails(t *testing.T) {
	s := func(v string) *string { return &v }
	cur := Details{CompanyName: "Acme", VATID: "DE123456789", Country: "DE", BillingEmail: "a@acme.example"}
	// Omitted fields are kept, blank ones unset.
	got, err := applyDetails(cur, DetailsInput{CompanyName: s("  "), BillingEmail: s("billing@acme.example")})
	if err != nil || got != (Details{VATID: "DE123456789", Country: "DE", BillingEmail: "billing@acme.example"}) {
		t.Fatalf("applyDetails = %+v, %v", got, err)
	}
	// Greece: EL numbers go with GR.
	if got, err := applyDetails(Details{}, DetailsInput{VATID: s("el 094 259 216"), Country: s("gr")}); err != nil || got.VATID != "EL094259216" || got.Country != "GR" {
		t.Fatalf("Greece: %+v, %v", got, err)
	}
	for _, c := range []struct {
		in    DetailsInput
		field string
	}{
		{DetailsInput{VATID: s("FR12345678901")}, "vatId"}, // the current country is DE
		{DetailsInput{Country: s("AT")}, "vatId"},          // the current VAT number is German
		{DetailsInput{Country: s("XX")}, "country"},
		{DetailsInput{Country: s("DEU")}, "country"},
		{DetailsInput{BillingEmail: s("a@b")}, "billingEmail"},
		{DetailsInput{BillingEmail: s("A <a@acme.example>")}, "billingEmail"},
		{DetailsInput{CompanyName: s("Acme\u202eGmbH")}, "companyName"},
		{DetailsInput{CompanyName: s(strings.Repeat("a", maxCompanyName+1))}, "companyName"},
	} {
		_, err := applyDetails(cur, c.in)
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.BadUserInput || e.Field != c.field {
			t.Errorf("applyDetails(%+v) = %v; want BAD_USER_INPUT on %s", c.in, err, c.field)
		}
	}
}

// FuzzNormalizeVATID checks that a normalised number is stable, upper
// case, free of separators, and starts with a known prefix.
func FuzzNormalizeVATID(f *testing.F) {
	for _, s := range []string{"DE123456789", "de 123.456-789", "EL1", "XI123456789", "", "ATU12345678", "\x00DE12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeVATID(in)
		if err != nil || got == "" {
			return
		}
		again, err := NormalizeVATID(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeVATID(%q) = %q is not stable: %q, %v", in, got, again, err)
		}
		if _, ok := euVAT[got[:2]]; !ok || strings.ContainsAny(got, " .-\t") || strings.ToUpper(got) != got || len(got) > 14 {
			t.Fatalf("NormalizeVATID(%q) = %q", in, got)
		}
	})
}
