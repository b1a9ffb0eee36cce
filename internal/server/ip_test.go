package server_test

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/server"
)

func prefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

func TestClientIP(t *testing.T) {
	proxies := prefixes("10.0.0.0/8", "2001:db8:ffff::/48")
	for _, tc := range []struct {
		name           string
		trusted        []netip.Prefix
		xff, fwd, peer string
		want           string
	}{
		{"direct, no header", nil, "", "", "192.0.2.1:5555", "192.0.2.1"},
		{"direct, forged XFF ignored", nil, "6.6.6.6", "", "127.0.0.1:1", "127.0.0.1"},
		{"direct, forged Forwarded ignored", nil, "", "for=6.6.6.6", "127.0.0.1:1", "127.0.0.1"},
		{"untrusted peer with XFF", proxies, "6.6.6.6", "", "192.0.2.9:1", "192.0.2.9"},
		{"trusted peer", proxies, "203.0.113.7", "", "10.0.0.1:1", "203.0.113.7"},
		{"rightmost untrusted wins", proxies, "6.6.6.6, 203.0.113.7, 10.0.0.2", "", "10.0.0.1:1", "203.0.113.7"},
		{"spoofed leftmost ignored", proxies, "1.2.3.4, 203.0.113.7", "", "10.0.0.1:1", "203.0.113.7"},
		{"all trusted: leftmost", proxies, "10.0.0.3, 10.0.0.2", "", "10.0.0.1:1", "10.0.0.3"},
		{"garbage hop stops the walk", proxies, "6.6.6.6, not-an-ip, 10.0.0.2", "", "10.0.0.1:1", "10.0.0.2"},
		{"garbage only", proxies, "not-an-ip", "", "10.0.0.1:1", "10.0.0.1"},
		{"ipv6 hop", proxies, " 2001:db8::1 ,10.0.0.2", "", "10.0.0.1:1", "2001:db8::1"},
		{"ipv6 peer", proxies, "198.51.100.4", "", "[2001:db8:ffff::2]:443", "198.51.100.4"},
		{"mapped ipv4", proxies, "::ffff:198.51.100.4", "", "10.0.0.1:1", "198.51.100.4"},
		{"Forwarded", proxies, "", `for=192.0.2.60;proto=http;by=203.0.113.43`, "10.0.0.1:1", "192.0.2.60"},
		{"Forwarded list", proxies, "", `for=6.6.6.6, for="[2001:db8:cafe::17]:4711", for=10.0.0.9`, "10.0.0.1:1", "2001:db8:cafe::17"},
		{"Forwarded wins over XFF", proxies, "6.6.6.6", `for=198.51.100.1`, "10.0.0.1:1", "198.51.100.1"},
		{"Forwarded unknown", proxies, "", `for=unknown`, "10.0.0.1:1", "10.0.0.1"},
		{"Forwarded obfuscated", proxies, "", `for=_hidden, for=198.51.100.2`, "10.0.0.1:1", "198.51.100.2"},
		{"Forwarded quoted comma", proxies, "", `for="198.51.100.3";x="a,b"`, "10.0.0.1:1", "198.51.100.3"},
		{"Forwarded case", proxies, "", `For=198.51.100.5`, "10.0.0.1:1", "198.51.100.5"},
		{"Forwarded without for", proxies, "", `proto=https`, "10.0.0.1:1", "10.0.0.1"},
		{"peer with zone", nil, "", "", "[fe80::1%eth0]:80", "fe80::1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if tc.fwd != "" {
			r.Header.Set("Forwarded", tc.fwd)
		}
		if got := server.ClientIP(r, tc.trusted); got != tc.want {
			t.Errorf("%s: ClientIP = %q, want %q", tc.name, got, tc.want)
		}
	}
	// Several header lines form one list.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:1"
	r.Header.Add("X-Forwarded-For", "6.6.6.6")
	r.Header.Add("X-Forwarded-For", "198.51.100.7, 10.0.0.5")
	if got := server.ClientIP(r, proxies); got != "198.51.100.7" {
		t.Errorf("two XFF lines: %q", got)
	}
}

// FuzzClientIP: whatever the headers, the result is the peer when the peer
// is not trusted, and otherwise a parsed address that is either not a
// trusted proxy or the leftmost believable hop.
func FuzzClientIP(f *testing.F) {
	f.Add("203.0.113.7, 10.0.0.1", "", "10.0.0.2:80")
	f.Add("", `for="[2001:db8::1]:80";by=x, for=unknown`, "10.1.1.1:1")
	f.Add("", "", "garbage")
	f.Add("6.6.6.6", "for=6.6.6.6", "192.0.2.1:1")
	trusted := prefixes("10.0.0.0/8")
	f.Fuzz(func(t *testing.T, xff, fwd, peer string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("Forwarded", fwd)
		got := server.ClientIP(r, trusted)
		if direct := server.ClientIP(r, nil); direct != got && !strings.HasPrefix(got, "10.") {
			// The peer was trusted: the result must be an address.
			if _, err := netip.ParseAddr(got); err != nil {
				t.Fatalf("ClientIP = %q: not an address (peer %q)", got, peer)
			}
		}
		if direct := server.ClientIP(r, nil); direct != peer {
			if _, err := netip.ParseAddr(direct); err != nil {
				t.Fatalf("without trusted proxies ClientIP = %q, neither the peer %q nor its address", direct, peer)
			}
			if strings.Contains(direct, "6.6.6.6") && !strings.Contains(peer, "6.6.6.6") {
				t.Fatalf("without trusted proxies a header was believed: %q", direct)
			}
		}
	})
}
