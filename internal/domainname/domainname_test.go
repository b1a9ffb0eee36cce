package domainname

import (
	"strings"
	"testing"
)

func TestConsumer(t *testing.T) {
	for _, d := range []string{"gmail.com", "outlook.com", "gmx.de", "web.de", "yahoo.com", "icloud.com", "proton.me", "mx.gmail.com"} {
		if !Consumer(d) {
			t.Errorf("Consumer(%q) = false", d)
		}
	}
	for _, d := range []string{"acme.example", "gmail.com.example", "notgmail.com", "de", "com"} {
		if Consumer(d) {
			t.Errorf("Consumer(%q) = true", d)
		}
	}
}

func TestNewToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	if len(a) != 32 || a == b || strings.ToLower(a) != a {
		t.Fatalf("tokens %q %q", a, b)
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("Acme.Example.")
	f.Add("Bücher.example")
	f.Fuzz(func(t *testing.T, d string) {
		out, err := Normalize("name", d)
		if err != nil || out == "" {
			return
		}
		if !Valid(out) {
			t.Fatalf("Normalize(%q) = %q is not a normalised hostname", d, out)
		}
		again, err := Normalize("name", out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q, %v", out, again, err)
		}
		_ = Consumer(out)
	})
}
