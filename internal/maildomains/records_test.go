package maildomains

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dezky/platform/plugins/sdk"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ typ, in, want string }{
		{"TXT", `"v=DMARC1; p=reject;" " rua=mailto:a@b.example"`, "v=DMARC1;p=reject;rua=mailto:a@b.example"},
		{"TXT", "v=DMARC1;  p=reject; ", "v=DMARC1;p=reject"},
		{"TXT", "v=spf1   mx  -all", "v=spf1 mx -all"},
		{"TXT", `"unterminated`, `"unterminated`},
		{"MX", "10 Mail.Example.ORG.", "10 mail.example.org"},
		{"MX", "010  mail.example.org", "10 mail.example.org"},
		{"MX", "x mail.example.org", "x mail.example.org"},
	} {
		if got := Normalize(c.typ, c.in); got != c.want {
			t.Errorf("Normalize(%s, %q) = %q, want %q", c.typ, c.in, got, c.want)
		}
	}
}

func TestExpectedAndCompare(t *testing.T) {
	recs := expectedRecords("acme.example", "tok", []sdk.DNSRecord{
		{Name: "acme.example", Type: "MX", Value: "10 mail.example.test."},
		{Name: "acme.example", Type: "TXT", Value: "v=spf1 mx ra=postmaster -all"},
		{Name: "202612e._domainkey.acme.example", Type: "TXT", Value: "v=DKIM1; k=ed25519; p=abc"},
		{Name: "_dmarc.acme.example", Type: "TXT", Value: "v=DMARC1; p=reject"},
		{Name: "_smtp._tls.acme.example", Type: "TXT", Value: "v=TLSRPTv1; rua=mailto:x@acme.example"},
		{Name: "autoconfig.acme.example", Type: "CNAME", Value: "mail.example.test."},
	})
	var purposes []string
	for _, r := range recs {
		purposes = append(purposes, r.Purpose)
		if r.Status != "MISSING" || r.Found == nil {
			t.Errorf("fresh record %+v", r)
		}
	}
	if got := strings.Join(purposes, ","); got != "OWNERSHIP,MX,SPF,DKIM,DMARC" {
		t.Fatalf("purposes = %s", got)
	}
	if recs[0].Name != "_dezky-challenge.acme.example" || recs[0].Expected != "dezky-domain-verification=tok" {
		t.Fatalf("ownership = %+v", recs[0])
	}
	apex := []string{"google-site-verification=x", "v=spf1 include:other -all"}
	if got := compare("TXT", recs[2].Expected, relevant(PurposeSPF, apex)); got != CheckMismatch {
		t.Errorf("other SPF: %s", got)
	}
	if got := compare("TXT", recs[2].Expected, relevant(PurposeSPF, apex[:1])); got != CheckMissing {
		t.Errorf("no SPF: %s", got)
	}
	if got := compare("MX", recs[1].Expected, []string{"20 backup.example.", "10 MAIL.example.test."}); got != CheckOK {
		t.Errorf("MX among others: %s", got)
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("TXT", `"v=DMARC1; p=reject;" " rua=mailto:a@b.example"`)
	f.Add("MX", "10 Mail.Example.")
	f.Add("TXT", `"a\"b" "c`)
	f.Fuzz(func(t *testing.T, typ, v string) {
		n := Normalize(typ, v)
		if again := Normalize(typ, n); strings.ToUpper(typ) != "TXT" && again != n {
			t.Fatalf("Normalize(%q, %q) = %q, again %q", typ, v, n, again)
		}
		if strings.ToUpper(typ) == "MX" && n != strings.ToLower(n) {
			t.Fatalf("MX not lower-case: %q", n)
		}
	})
}

func TestSDKMessageIsStorable(t *testing.T) {
	long := sdk.Unavailable("%s", strings.Repeat("é", 400)+"\x00\n\u202e")
	m := sdkMessage(long)
	if len(m) > 510 || strings.ContainsAny(m, "\x00\n\u202e") || !utf8.ValidString(m) {
		t.Fatalf("sdkMessage = %q", m)
	}
	if got := sdkMessage(sdk.InUse("Domain is linked to account %q", "jane")); got != `Domain is linked to account "jane"` {
		t.Fatalf("sdkMessage = %q", got)
	}
}
