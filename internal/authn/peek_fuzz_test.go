package authn

import (
	"encoding/base64"
	"testing"
)

// FuzzPeek checks that the unverified token peek never panics and only
// reports success for a compact JWS with an accepted algorithm and an issuer.
func FuzzPeek(f *testing.F) {
	enc := base64.RawURLEncoding.EncodeToString
	for _, seed := range []string{
		enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"iss":"https://id.example.com/"}`)) + ".c2ln",
		enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{"iss":"x"}`)) + ".",
		enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(`{"iss":1}`)) + ".c2ln",
		"", ".", "..", "a.b.c", "a.b.c.d", "e30.e30.e30", "{}.{}.{}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := peek(raw)
		if err != nil {
			return
		}
		if !algAccepted(p.alg) {
			t.Fatalf("peek accepted algorithm %q", p.alg)
		}
		if p.iss == "" {
			t.Fatal("peek accepted a token without issuer")
		}
	})
}
