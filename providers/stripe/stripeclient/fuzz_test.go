package stripeclient_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/dezky/platform/providers/stripe/stripeclient"
)

// FuzzParseSignature checks that any header either parses into a timestamp
// and at least one non-empty v1 signature, or fails with a webhook sentinel.
func FuzzParseSignature(f *testing.F) {
	for _, s := range []string{
		"t=1760000000,v1=" + strings.Repeat("ab", 32),
		"t=1,v1=00,v1=ff,v0=zz",
		"t=1,v1",
		"",
		"t=,v1=",
		"v1=00,t=9223372036854775807",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		sig, err := stripeclient.ParseSignature(header)
		if err != nil {
			if !errors.Is(err, stripeclient.ErrNotSigned) && !errors.Is(err, stripeclient.ErrInvalidHeader) &&
				!errors.Is(err, stripeclient.ErrNoValidSignature) {
				t.Fatalf("ParseSignature(%q) returned unexpected error %v", header, err)
			}
			return
		}
		if len(sig.V1) == 0 || sig.Timestamp.Unix() < 0 {
			t.Fatalf("ParseSignature(%q) = %+v without error", header, sig)
		}
		for _, v := range sig.V1 {
			if len(v) == 0 || !strings.Contains(header, hex.EncodeToString(v)) && !strings.Contains(strings.ToLower(header), hex.EncodeToString(v)) {
				t.Fatalf("ParseSignature(%q) produced v1 %x not present in header", header, v)
			}
		}
	})
}

// FuzzVerify checks that arbitrary deliveries never panic, that an unsigned
// or mis-signed body is always rejected, and that a correctly signed body
// yields exactly what ParseEvent yields.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(invoicePaid(stripe.APIVersion)), "t=1,v1=00")
	f.Add([]byte(`{"id":"e","type":"t","data":{"object":{"customer":{"id":"c"},"parent":{"subscription_details":{"subscription":"s"}}}}}`), "")
	f.Add([]byte(`{"id":"e","type":"t","data":{"object":{},"previous_attributes":{"a":1,"b":{}}}}`), "t=x")
	f.Add([]byte(`null`), "t=1,v1=zz")
	now := time.Unix(1_760_000_000, 0)
	v := &stripeclient.WebhookVerifier{Secrets: []string{secret}, Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, payload []byte, header string) {
		if _, err := v.Verify(payload, header); err == nil {
			// A random header can only verify if it carries the real HMAC.
			good := stripeclient.SignPayload(secret, mustTimestamp(t, header), payload)
			if !strings.Contains(header, strings.SplitN(good, ",", 2)[1]) {
				t.Fatalf("Verify accepted %q for %q", header, payload)
			}
		}
		signed := stripeclient.SignPayload(secret, now, payload)
		got, verr := v.Verify(payload, signed)
		want, perr := stripeclient.ParseEvent(payload)
		if (verr == nil) != (perr == nil) {
			t.Fatalf("Verify err %v, ParseEvent err %v for %q", verr, perr, payload)
		}
		if verr == nil {
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Verify = %+v, ParseEvent = %+v", got, want)
			}
			if got.ID == "" || got.Type == "" || len(got.Object) == 0 || !bytes.HasPrefix(bytes.TrimSpace(got.Object), []byte("{")) {
				t.Fatalf("accepted event lacks id, type or object: %+v", got)
			}
		}
	})
}

func mustTimestamp(t *testing.T, header string) time.Time {
	t.Helper()
	sig, err := stripeclient.ParseSignature(header)
	if err != nil {
		t.Fatalf("verified header %q does not parse: %v", header, err)
	}
	return sig.Timestamp
}
