package dnsclient_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/dezky/platform/providers/dns/dnsclient"
)

func TestParseSPF(t *testing.T) {
	good := []struct {
		in       string
		includes string
		want     bool
	}{
		{"v=spf1 include:spf.dezky.test ~all", "spf.dezky.test", true},
		{"V=SPF1  +include:SPF.Dezky.Test. -all", "spf.dezky.test", true},
		{"v=spf1 -include:spf.dezky.test ~all", "spf.dezky.test", false},
		{"v=spf1 ip4:192.0.2.0/24 a mx/24 redirect=_spf.other.test", "spf.dezky.test", false},
		{"v=spf1", "x.test", false},
	}
	for _, tc := range good {
		spf, err := dnsclient.ParseSPF(tc.in)
		if err != nil {
			t.Errorf("ParseSPF(%q): %v", tc.in, err)
			continue
		}
		if got := spf.Includes(tc.includes); got != tc.want {
			t.Errorf("ParseSPF(%q).Includes(%q) = %v, want %v", tc.in, tc.includes, got, tc.want)
		}
	}
	for _, in := range []string{
		"", "spf1 include:x", "v=spf10 -all", "v=spf1 include:", "v=spf1 bogus:x", "v=spf1 all:x",
		"v=spf1 redirect=a redirect=b", "v=spf1 ip4", "v=spf1 include=x.test",
	} {
		if _, err := dnsclient.ParseSPF(in); err == nil {
			t.Errorf("ParseSPF(%q) succeeded, want an error", in)
		}
	}
}

func TestParseDMARC(t *testing.T) {
	d, err := dnsclient.ParseDMARC("v=DMARC1; p=Reject; sp=none; pct=50; rua=mailto:a@x.test, mailto:b@x.test;")
	if err != nil {
		t.Fatalf("ParseDMARC: %v", err)
	}
	if d.Policy != "reject" || d.SubdomainPolicy != "none" || d.Percent != 50 ||
		!slices.Equal(d.AggregateReports, []string{"mailto:a@x.test", "mailto:b@x.test"}) {
		t.Errorf("ParseDMARC = %+v", d)
	}
	d, err = dnsclient.ParseDMARC("v=DMARC1;p=none")
	if err != nil || d.SubdomainPolicy != "none" || d.Percent != 100 {
		t.Errorf("ParseDMARC defaults = %+v, %v", d, err)
	}
	for _, in := range []string{
		"", "p=none; v=DMARC1", "v=DMARC1", "v=DMARC1; p=block", "v=DMARC1; p=none; pct=101",
		"v=DMARC1; p=none; p=reject", "v=DMARC1;; p=none", "v=DMARC1; 1p=none", "v=dmarc1; p=none",
	} {
		if _, err := dnsclient.ParseDMARC(in); err == nil {
			t.Errorf("ParseDMARC(%q) succeeded, want an error", in)
		}
	}
}

func TestParseDKIM(t *testing.T) {
	k, err := dnsclient.ParseDKIM("v=DKIM1; k=ed25519; p=AB CD\t+/=")
	if err != nil {
		t.Fatalf("ParseDKIM: %v", err)
	}
	if k.KeyType != "ed25519" || k.PublicKey != "ABCD+/=" {
		t.Errorf("ParseDKIM = %+v", k)
	}
	k, err = dnsclient.ParseDKIM("p=")
	if err != nil || k.PublicKey != "" || k.KeyType != "rsa" {
		t.Errorf("revoked key = %+v, %v", k, err)
	}
	for _, in := range []string{"", "v=DKIM1", "k=rsa; v=DKIM1; p=x", "v=DKIM2; p=x", "v=DKIM1; p=not*b64"} {
		if _, err := dnsclient.ParseDKIM(in); err == nil {
			t.Errorf("ParseDKIM(%q) succeeded, want an error", in)
		}
	}
}

// FuzzParseSPF checks that parsing never panics and that an accepted record
// keeps only known mechanisms with valid qualifiers.
func FuzzParseSPF(f *testing.F) {
	for _, s := range []string{
		"v=spf1 include:spf.dezky.test ~all", "v=spf1 ip4:192.0.2.0/24 -all", "v=spf1 a/24 mx:x.test/26 ?exists:%{i}.x",
		"v=spf1 redirect=x exp=y", "v=spf1 =", "v=spf1 +", "v=spf1 -:x",
	} {
		f.Add(s)
	}
	mechanisms := []string{"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}
	f.Fuzz(func(t *testing.T, s string) {
		spf, err := dnsclient.ParseSPF(s)
		if err != nil {
			return
		}
		for _, term := range spf.Terms {
			if term.Modifier {
				if term.Qualifier != 0 || term.Name == "" || slices.Contains(mechanisms, term.Name) {
					t.Fatalf("ParseSPF(%q): bad modifier %+v", s, term)
				}
				continue
			}
			if !slices.Contains(mechanisms, term.Name) || !strings.ContainsRune("+-~?", rune(term.Qualifier)) {
				t.Fatalf("ParseSPF(%q): bad mechanism %+v", s, term)
			}
			if (term.Name == "include" || term.Name == "exists") && term.Value == "" {
				t.Fatalf("ParseSPF(%q): %s without domain", s, term.Name)
			}
		}
	})
}

// FuzzParseTagList checks that tag lists, DMARC and DKIM parsing never panic
// and that accepted lists have unique, well-formed names.
func FuzzParseTagList(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=reject; rua=mailto:a@x.test", "v=DKIM1; k=rsa; p=MIIB", "a=;b=c;", ";", "a", "a=b;a=c", "v=DMARC1;p=none;pct=007",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := dnsclient.ParseTagList(s)
		if err == nil {
			seen := map[string]bool{}
			for _, tag := range tags {
				if tag.Name == "" || seen[tag.Name] || strings.ContainsAny(tag.Name, "=; \t") || strings.Contains(tag.Value, ";") {
					t.Fatalf("ParseTagList(%q) = %+v", s, tags)
				}
				seen[tag.Name] = true
			}
		}
		if d, err := dnsclient.ParseDMARC(s); err == nil {
			if !slices.Contains([]string{"none", "quarantine", "reject"}, d.Policy) || d.Percent < 0 || d.Percent > 100 {
				t.Fatalf("ParseDMARC(%q) = %+v", s, d)
			}
		}
		if k, err := dnsclient.ParseDKIM(s); err == nil {
			if strings.ContainsAny(k.PublicKey, " \t\r\n;") {
				t.Fatalf("ParseDKIM(%q) = %+v", s, k)
			}
		}
	})
}
