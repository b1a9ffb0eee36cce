package server

import (
	"strings"
	"testing"
)

func FuzzParsePersistedQueries(f *testing.F) {
	f.Add(`{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"e6a4b1ee80b2ad0d9a8b2b3f7e3f3c0a0f1c6b3e1d1b0b8c0e8d3b5e0b3f6c1a","name":"X","type":"query","body":"{ me { email } }"}]}`)
	f.Add(`{"format":"apollo-persisted-query-manifest","version":1,"operations":[]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePersistedQueries([]byte(s))
		if err != nil {
			return
		}
		for h, body := range p.byHash {
			if hashQuery(body) != h || strings.ToLower(h) != h {
				t.Fatalf("%q: hash %s does not name its body", s, h)
			}
		}
	})
}
