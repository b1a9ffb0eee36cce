package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dezky/platform/internal/audit"
)

func seedLine(t interface{ Fatal(...any) }) []byte {
	tenant := int64(7)
	ext := "ext-1"
	e := audit.Entry{Seq: 2, PrevHash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		At: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Source: "mail", ExternalID: &ext, ActorType: "user",
		Action: "mail.sent", Outcome: "SUCCESS", TenantID: &tenant, Metadata: []byte(`{"a":[1,2.5,"x"]}`)}
	h, err := audit.HashEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	e.Hash = h
	b, err := audit.MarshalLine(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseLine: the export line parser never panics, and an accepted line
// re-marshals to a line that parses to the same canonical event.
func FuzzParseLine(f *testing.F) {
	f.Add(seedLine(f))
	sealed, err := audit.MarshalLine(sealedEntry(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add([]byte(`{"action":"x","at":"2026-01-02T03:04:05.000000Z","hash":"` + string(bytes.Repeat([]byte("a"), 64)) + `","prevHash":"","seq":1,"metadata":null}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"seq":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := audit.ParseLine(data)
		if err != nil {
			return
		}
		b, err := audit.MarshalLine(e)
		if err != nil {
			t.Fatalf("accepted line does not marshal: %v", err)
		}
		e2, err := audit.ParseLine(b)
		if err != nil {
			t.Fatalf("re-marshalled line %s does not parse: %v", b, err)
		}
		c1, err1 := audit.Canonical(e)
		c2, err2 := audit.Canonical(e2)
		if err1 != nil && err2 != nil {
			return // seals that do not fit the event, both times
		}
		if err1 != nil || err2 != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("round trip changed the event:\n%s\n%s", c1, c2)
		}
	})
}

// FuzzParseCheckpointLine: the checkpoint line parser never panics and
// round-trips what it accepts.
func FuzzParseCheckpointLine(f *testing.F) {
	key, err := audit.LoadOrCreateKey(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	b, err := audit.MarshalCheckpointLine(key.Sign(3, "abc", time.Now(), audit.ReasonInterval))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"headSeq":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cp, err := audit.ParseCheckpointLine(data)
		if err != nil {
			return
		}
		b, err := audit.MarshalCheckpointLine(cp)
		if err != nil {
			t.Fatal(err)
		}
		cp2, err := audit.ParseCheckpointLine(b)
		if err != nil {
			t.Fatalf("re-marshalled line %s does not parse: %v", b, err)
		}
		if !cp2.At.Equal(cp.At) || cp2.HeadSeq != cp.HeadSeq || cp2.HeadHash != cp.HeadHash || cp2.KeyID != cp.KeyID ||
			cp2.Algorithm != cp.Algorithm || cp2.Signature != cp.Signature || cp2.Reason != cp.Reason {
			t.Fatalf("round trip: %+v, %v; want %+v", cp2, err, cp)
		}
	})
}

// FuzzParsePublicKey: the public key file parser never panics and accepts
// only 32-byte keys.
func FuzzParsePublicKey(f *testing.F) {
	dir := f.TempDir()
	key, err := audit.LoadOrCreateKey(dir)
	if err != nil {
		f.Fatal(err)
	}
	pem, err := audit.MarshalPublicKey(key.Public)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pem)
	f.Add([]byte(base64.StdEncoding.EncodeToString(key.Public) + "\n"))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, err := audit.ParsePublicKey(data)
		if err == nil && len(pub) != ed25519.PublicKeySize {
			t.Fatalf("accepted a %d-byte key", len(pub))
		}
	})
}

// FuzzParsePrivateKey: the signing key file parser never panics and
// accepts only usable ed25519 keys.
func FuzzParsePrivateKey(f *testing.F) {
	dir := f.TempDir()
	if _, err := audit.LoadOrCreateKey(dir); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, audit.DefaultKeyFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		priv, err := audit.ParsePrivateKey(data)
		if err != nil {
			return
		}
		if len(priv) != ed25519.PrivateKeySize {
			t.Fatalf("accepted a %d-byte key", len(priv))
		}
		sig := ed25519.Sign(priv, []byte("m"))
		if !ed25519.Verify(priv.Public().(ed25519.PublicKey), []byte("m"), sig) {
			t.Fatal("accepted key does not sign")
		}
	})
}
