package dnsclient

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzTXTRoundTrip checks that any TXT value survives the conversion to
// wire format and back: split into character-strings, escaped, packed by
// miekg/dns, unpacked and unescaped.
func FuzzTXTRoundTrip(f *testing.F) {
	for _, s := range []string{"", "v=spf1 -all", `quote " and \ backslash`, "\x00\x01\xff", strings.Repeat("x", 600), `\065`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > 4000 {
			return
		}
		rr, err := toRR("t.example.test.", Record{Name: "t.example.test", Type: TypeTXT, Value: v})
		if err != nil {
			t.Fatalf("toRR(%q): %v", v, err)
		}
		m := new(dns.Msg)
		m.SetQuestion("t.example.test.", dns.TypeTXT)
		m.Answer = []dns.RR{rr}
		wire, err := m.Pack()
		if err != nil {
			t.Fatalf("Pack(%q): %v", v, err)
		}
		back := new(dns.Msg)
		if err := back.Unpack(wire); err != nil {
			t.Fatalf("Unpack(%q): %v", v, err)
		}
		recs := answerRecords(back, dns.TypeTXT)
		if len(recs) != 1 || recs[0].Value != v {
			t.Fatalf("round trip of %q = %+v", v, recs)
		}
	})
}
