package tenantadmin

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/dezky/platform/ent/schema/schematype"
)

func TestParseAllowlist(t *testing.T) {
	got, err := ParseAllowlist([]string{" 10.0.0.0/8", "192.0.2.7", "2001:DB8::/32", "10.0.0.0/8", "::1"})
	if err != nil || strings.Join(got, ",") != "10.0.0.0/8,192.0.2.7/32,::1/128,2001:db8::/32" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.1/8", "10.0.0.0/33", "", "host", "fe80::1%eth0", "::ffff:10.0.0.0/104", "1.2.3.4/-1"} {
		if _, err := ParseAllowlist([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseAllowlist(make([]string, MaxAllowlist+1)); err == nil {
		t.Error("too many entries accepted")
	}
}

func TestParseCountries(t *testing.T) {
	got, err := ParseCountries([]string{"de", "FR", " de "})
	if err != nil || strings.Join(got, ",") != "DE,FR" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"XX", "DEU", "", "UK"} {
		if _, err := ParseCountries([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseTemplate(t *testing.T) {
	if _, err := ParseTemplate("password_reset", "Hi {{.MemberName}}, {{- .ResetURL -}} ({{.ExpiresIn}})"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"{{.InviteURL}}", "{{.ResetURL.Host}}", `{{printf "%s" .ResetURL}}`, "{{if .ResetURL}}x{{end}}",
		"{{range .ResetURL}}{{end}}", "{{$x := .ResetURL}}", `{{define "x"}}y{{end}}`, `{{template "x"}}`, "{{.}}", "{{.ResetURL | html}}", "{{"} {
		if _, err := ParseTemplate("password_reset", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseTemplate("nope", "x"); err == nil {
		t.Error("unknown key accepted")
	}
	if _, err := checkTemplates([]schematype.EmailTemplate{{Key: "password_reset", Subject: "a\nb", Body: "x"}}); err == nil {
		t.Error("two-line subject accepted")
	}
	got, err := render("password_reset", "{{.ProductName}}: {{.ResetURL}}", "Acme <b>")
	if err != nil || got != "Acme <b>: https://app.example/reset/sample-token" {
		t.Fatalf("render = %q, %v", got, err)
	}
}

func TestRedirectURIs(t *testing.T) {
	got, err := CheckRedirectURIs([]string{"https://app.example/cb", "http://localhost:3000/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb", "https://app.example/cb"})
	if err != nil || len(got) != 4 {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"http://app.example/cb", "ftp://app.example/", "/cb", "https://u:p@app.example/cb", "https://app.example/cb#x",
		"javascript:alert(1)", "https:///cb", "http://localhost.evil.example/cb"} {
		if _, err := CheckRedirectURIs([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := CheckRedirectURIs(nil); err == nil {
		t.Error("no URI accepted")
	}
}

func TestColors(t *testing.T) {
	for in, want := range map[string]string{"#FFF": "#ffffff", "#4F46e5": "#4f46e5", " #000 ": "#000000"} {
		if got, ok := NormalizeColor(in); !ok || got != want {
			t.Errorf("NormalizeColor(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"fff", "#ffff", "#ggg", "red", "#1234567"} {
		if _, ok := NormalizeColor(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	// YIQ: (299 R + 587 G + 114 B) / 1000 >= 128 reads black.
	for in, want := range map[string]string{"#ffffff": "#000000", "#000000": "#ffffff", "#ffcc00": "#000000",
		"#4f46e5": "#ffffff", "#808080": "#000000", "#7f7f7f": "#ffffff"} {
		if got := ReadableTextColor(in); got != want {
			t.Errorf("ReadableTextColor(%s) = %s, want %s", in, got, want)
		}
	}
}

// FuzzParseAllowlist: no input panics; accepted output is canonical,
// sorted, unique and parses back to itself.
func FuzzParseAllowlist(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::ffff:1.2.3.4", "1.2.3.4/32,1.2.3.4", "fe80::%x/64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ParseAllowlist(strings.Split(s, ","))
		if err != nil {
			return
		}
		again, err := ParseAllowlist(out)
		if err != nil || strings.Join(again, ",") != strings.Join(out, ",") {
			t.Fatalf("not canonical: %v -> %v (%v)", out, again, err)
		}
		for _, p := range out {
			pp, err := netip.ParsePrefix(p)
			if err != nil || pp.Masked() != pp || pp.String() != p {
				t.Fatalf("bad output prefix %q", p)
			}
		}
	})
}

// FuzzParseTemplate: no input panics; an accepted template renders with
// the sample data without error.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"Hi {{.MemberName}}", "{{.ResetURL}}{{.ExpiresIn}}", "{{if 1}}{{end}}", "{{/* c */}}", "{{- .ProductName -}}", "{{", "}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := ParseTemplate("password_reset", s); err != nil {
			return
		}
		if _, err := render("password_reset", s, "P"); err != nil {
			t.Fatalf("accepted %q but rendering failed: %v", s, err)
		}
	})
}

// FuzzRedirectURIs: no input panics; accepted URIs are https or loopback
// http, without fragment or user info.
func FuzzRedirectURIs(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "http://localhost/cb", "http://[::1]/", "https://u@h/", "http://127.0.0.2/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CheckRedirectURIs([]string{s})
		if err != nil {
			return
		}
		u := out[0]
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") || strings.Contains(u, "#") {
			t.Fatalf("accepted %q", u)
		}
	})
}
