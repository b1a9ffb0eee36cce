package authn_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/dezky/platform/internal/authn"
	"github.com/dezky/platform/internal/authn/devissuer"
)

// FuzzVerify feeds arbitrary strings to Verify against live test issuers:
// it must never panic, must reject with ErrUnauthenticated without echoing
// the input, and may only accept tokens that meet the configured issuers and
// audiences.
func FuzzVerify(f *testing.F) {
	e := newTestEnv(f)
	v := e.verifier(f, nil)
	valid := mint(f, e.primary, devissuer.MintClaims{})
	for _, seed := range []string{
		valid,
		mint(f, e.secondary, devissuer.MintClaims{Audience: []string{audOperator, "x"}}),
		mint(f, e.stranger, devissuer.MintClaims{}),
		mint(f, e.impostor, devissuer.MintClaims{}),
		e.signCustom(f, jose.RS256, e.customClaims(time.Now())),
		valid[:strings.LastIndexByte(valid, '.')+1],
		"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.",
		"", ".", "..", "a.b.c", "a.b.c.d.e", "{}", `{"payload":"e30"}`,
	} {
		f.Add(seed)
	}
	configured := map[string]bool{e.primary.URL(): true, e.secondary.URL(): true, e.custom.URL(): true}

	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(context.Background(), raw)
		if err != nil {
			if c != nil {
				t.Fatalf("claims returned with error %v", err)
			}
			if !errors.Is(err, authn.ErrUnauthenticated) {
				t.Fatalf("error %v does not wrap ErrUnauthenticated", err)
			}
			if len(raw) >= 16 && strings.Contains(err.Error(), raw) {
				t.Fatalf("error text echoes the input")
			}
			return
		}
		if !configured[c.Issuer] {
			t.Fatalf("accepted issuer %q", c.Issuer)
		}
		if !c.HasAudience(audPortal) && !c.HasAudience(audOperator) {
			t.Fatalf("accepted audience %q", c.Audience)
		}
		if c.Subject == "" {
			t.Fatal("accepted an empty subject")
		}
	})
}

// FuzzBearerToken checks that BearerToken never panics and only returns a
// non-empty b64token taken from the header value.
func FuzzBearerToken(f *testing.F) {
	for _, seed := range []string{
		"Bearer abc", "bearer a.b.c", "BEARER  x==", "Basic abc", "Bearer", "Bearer ",
		"Bearer a b", " Bearer\tabc", "", "Bearer \u00e9", "Bearer ==",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		h := http.Header{}
		h.Set("Authorization", value)
		tok, ok := authn.BearerToken(h)
		if !ok {
			if tok != "" {
				t.Fatalf("token %q returned with ok=false", tok)
			}
			return
		}
		if tok == "" || strings.TrimRight(tok, "=") == "" {
			t.Fatal("empty token accepted")
		}
		if strings.ContainsAny(tok, " \t\r\n,;\"") {
			t.Fatalf("token %q contains a separator", tok)
		}
		if !strings.HasSuffix(strings.TrimRight(value, " \t"), tok) {
			t.Fatalf("token %q is not the tail of the header %q", tok, value)
		}
		if !strings.EqualFold(strings.TrimLeft(value, " \t")[:len("Bearer")], "Bearer") {
			t.Fatalf("scheme of %q is not Bearer", value)
		}
	})
}
