package stalwartapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/dezky/platform/providers/stalwart/stalwartapi"
)

func FuzzParseZoneFile(f *testing.F) {
	f.Add(sampleZone, "")
	f.Add(`@ IN TXT "a\"b\065"`, "example.org")
	f.Add("x IN MX 10 y\n IN A 1.2.3.4", "example.org.")
	f.Fuzz(func(t *testing.T, zone, origin string) {
		recs, err := stalwartapi.ParseZoneFile(zone, origin)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Name == "" || r.Type == "" {
				t.Fatalf("empty name or type: %+v", r)
			}
		}
	})
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"events":[{"id":"1","createdAt":"2025-06-21T14:55:00Z","type":"auth.success","data":{"accountName":"jane","remoteIp":"1.2.3.4"}}]}`))
	f.Add([]byte(`{"events":[{"id":1.5e3,"type":"x","data":[1]}]}`))
	f.Add([]byte(`{"events":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := stalwartapi.ParseWebhook(body)
		if err != nil {
			return
		}
		for _, e := range evs {
			if e.ID == "" || e.Type == "" {
				t.Fatalf("event without id/type accepted: %+v", e)
			}
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte("key"), []byte(`{"events":[]}`), "")
	f.Add([]byte("key"), []byte(`{}`), "c2lnbmF0dXJl")
	f.Fuzz(func(t *testing.T, key, body []byte, header string) {
		if len(key) == 0 {
			return
		}
		want := stalwartapi.Sign(key, body)
		if err := stalwartapi.VerifySignature(key, body, want); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
		if stalwartapi.VerifySignature(key, body, header) == nil {
			mac, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
			wantMAC, _ := base64.StdEncoding.DecodeString(want)
			if err != nil || !bytes.Equal(mac, wantMAC) {
				t.Fatalf("foreign signature %q accepted", header)
			}
		}
		if len(body) > 0 {
			tampered := append([]byte(nil), body...)
			tampered[0] ^= 1
			if stalwartapi.VerifySignature(key, tampered, want) == nil {
				t.Fatal("tampered body accepted")
			}
		}
	})
}

func FuzzParseDMARC(f *testing.F) {
	f.Add("v=DMARC1; p=reject; rua=mailto:postmaster@example.org; ruf=mailto:postmaster@example.org")
	f.Add("v=DMARC1; p=none; sp=quarantine; pct=20; adkim=s; aspf=r")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := stalwartapi.ParseDMARC(s)
		if err != nil {
			return
		}
		out, err := stalwartapi.BuildDMARC(p)
		if err != nil {
			t.Fatalf("parsed policy does not build: %+v: %v", p, err)
		}
		p2, err := stalwartapi.ParseDMARC(out)
		if err != nil || !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip: %+v -> %q -> %+v (%v)", p, out, p2, err)
		}
	})
}

func FuzzInvocation(f *testing.F) {
	f.Add([]byte(`["x:Domain/get",{"accountId":"b"},"c0"]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var inv stalwartapi.Invocation
		if json.Unmarshal(b, &inv) != nil {
			return
		}
		out, err := json.Marshal(inv)
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		var again stalwartapi.Invocation
		if err := json.Unmarshal(out, &again); err != nil || again.Name != inv.Name || again.CallID != inv.CallID {
			t.Fatalf("round trip mismatch: %v", err)
		}
	})
}
