package stripeclient_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/dezky/platform/providers/stripe/stripeclient"
)

const (
	secret    = "whsec_current0123456789"
	oldSecret = "whsec_previous0123456789"
)

var signedAt = time.Unix(1_760_000_000, 0)

func invoicePaid(apiVersion string) []byte {
	return []byte(fmt.Sprintf(`{"id":"evt_1","object":"event","api_version":%q,"created":1760000000,"livemode":false,
"type":"invoice.paid","pending_webhooks":1,"request":{"id":null,"idempotency_key":null},
"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_A","subscription":"sub_A","status":"paid",
"currency":"eur","amount_due":1200,"amount_paid":1200,"metadata":{"dezky_key":"tenant-42"}}}}`, apiVersion))
}

func verifierAt(now time.Time, secrets ...string) *stripeclient.WebhookVerifier {
	return &stripeclient.WebhookVerifier{Secrets: secrets, Now: func() time.Time { return now }}
}

func TestWebhookVerifier_Verify(t *testing.T) {
	payload := invoicePaid(stripe.APIVersion)
	header := stripeclient.SignPayload(secret, signedAt, payload)

	t.Run("OK", func(t *testing.T) {
		ev, err := verifierAt(signedAt, secret).Verify(payload, header)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		want := stripeclient.Event{
			ID: "evt_1", Type: stripeclient.EventInvoicePaid, APIVersion: stripe.APIVersion,
			Created: time.Unix(1760000000, 0).UTC(), ObjectType: "invoice", ObjectID: "in_1",
			CustomerID: "cus_A", SubscriptionID: "sub_A", InvoiceID: "in_1", ExternalKey: "tenant-42",
			Status: "paid", Currency: "eur", AmountDue: 1200, AmountPaid: 1200,
		}
		ev.Object = nil
		if fmt.Sprintf("%+v", ev) != fmt.Sprintf("%+v", want) {
			t.Errorf("event = %+v\nwant    %+v", ev, want)
		}
	})

	t.Run("ToleranceBoundary", func(t *testing.T) {
		if _, err := verifierAt(signedAt.Add(5*time.Minute), secret).Verify(payload, header); err != nil {
			t.Errorf("Verify at exactly 5m: %v", err)
		}
		if _, err := verifierAt(signedAt.Add(-5*time.Minute), secret).Verify(payload, header); err != nil {
			t.Errorf("Verify 5m before the timestamp: %v", err)
		}
	})

	t.Run("SecretRotation", func(t *testing.T) {
		oldHeader := stripeclient.SignPayload(oldSecret, signedAt, payload)
		if _, err := verifierAt(signedAt, secret, oldSecret).Verify(payload, oldHeader); err != nil {
			t.Errorf("signature by the previous secret rejected: %v", err)
		}
		// Stripe sends one v1 per active secret during rotation.
		both := oldHeader + "," + strings.SplitN(header, ",", 2)[1]
		if _, err := verifierAt(signedAt, secret).Verify(payload, both); err != nil {
			t.Errorf("header with several v1 values rejected: %v", err)
		}
	})

	t.Run("InteroperatesWithStripeGo", func(t *testing.T) {
		sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: signedAt})
		if _, err := verifierAt(signedAt, secret).Verify(payload, sp.Header); err != nil {
			t.Errorf("stripe-go signed header rejected: %v", err)
		}
		if err := webhook.ValidatePayloadIgnoringTolerance(payload, header, secret); err != nil {
			t.Errorf("stripe-go rejects SignPayload header: %v", err)
		}
	})

	t.Run("OtherAPIVersion", func(t *testing.T) {
		other := invoicePaid("2026-08-26.dahlia")
		h := stripeclient.SignPayload(secret, signedAt, other)
		ev, err := verifierAt(signedAt, secret).Verify(other, h)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if ev.APIVersion != "2026-08-26.dahlia" || ev.InvoiceID != "in_1" {
			t.Errorf("event = %+v", ev)
		}
		strict := verifierAt(signedAt, secret)
		strict.StrictAPIVersion = true
		_, err = strict.Verify(other, h)
		if !errors.Is(err, stripeclient.ErrAPIVersionMismatch) || !errors.Is(err, stripeclient.ErrInvalid) {
			t.Errorf("strict Verify err = %v, want ErrAPIVersionMismatch", err)
		}
	})

	failures := []struct {
		name    string
		now     time.Time
		payload []byte
		header  string
		secrets []string
		want    error
	}{
		{"NotSigned", signedAt, payload, "", []string{secret}, stripeclient.ErrNotSigned},
		{"TamperedBody", signedAt, append([]byte(" "), payload...), header, []string{secret}, stripeclient.ErrNoValidSignature},
		{"WrongSecret", signedAt, payload, header, []string{"whsec_other"}, stripeclient.ErrNoValidSignature},
		{"TooOld", signedAt.Add(5*time.Minute + time.Second), payload, header, []string{secret}, stripeclient.ErrTooOld},
		{"FromFuture", signedAt.Add(-5*time.Minute - time.Second), payload, header, []string{secret}, stripeclient.ErrTimestampInFuture},
		{"OnlyV0", signedAt, payload, fmt.Sprintf("t=%d,v0=abcd", signedAt.Unix()), []string{secret}, stripeclient.ErrNoValidSignature},
		{"NoTimestamp", signedAt, payload, "v1=" + strings.Repeat("ab", 32), []string{secret}, stripeclient.ErrInvalidHeader},
		{"MalformedPair", signedAt, payload, "t=1,v1", []string{secret}, stripeclient.ErrInvalidHeader},
		{"NotJSON", signedAt, []byte("not json"), stripeclient.SignPayload(secret, signedAt, []byte("not json")), []string{secret}, stripeclient.ErrMalformedEvent},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifierAt(tc.now, tc.secrets...).Verify(tc.payload, tc.header)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify err = %v, want %v", err, tc.want)
			}
			wantKind := stripeclient.ErrUnauthenticated
			if tc.want == stripeclient.ErrMalformedEvent {
				wantKind = stripeclient.ErrInvalid // signed, but not an event
			}
			if !errors.Is(err, wantKind) {
				t.Errorf("Verify err = %v, want kind %v", err, wantKind)
			}
			for _, s := range tc.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains the secret", err)
				}
			}
		})
	}

	t.Run("NoSecretConfigured", func(t *testing.T) {
		_, err := (&stripeclient.WebhookVerifier{}).Verify(payload, header)
		if !errors.Is(err, stripeclient.ErrUnauthenticated) {
			t.Errorf("err = %v, want ErrUnauthenticated", err)
		}
	})
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		check   func(t *testing.T, ev stripeclient.Event)
	}{
		{
			name: "SubscriptionUpdatedWithExpandedCustomer",
			payload: `{"id":"evt_2","object":"event","type":"customer.subscription.updated","created":1,
"data":{"object":{"id":"sub_A","object":"subscription","status":"active","customer":{"id":"cus_A","object":"customer"},
"pause_collection":{"behavior":"void"},"metadata":{"dezky_key":"tenant-7"}},
"previous_attributes":{"pause_collection":null,"items":{"data":[]}}}}`,
			check: func(t *testing.T, ev stripeclient.Event) {
				if ev.SubscriptionID != "sub_A" || ev.CustomerID != "cus_A" || ev.ExternalKey != "tenant-7" {
					t.Errorf("event = %+v", ev)
				}
				if !slices.Equal(ev.ChangedFields, []string{"pause_collection", "items"}) {
					t.Errorf("ChangedFields = %v, want [pause_collection items]", ev.ChangedFields)
				}
			},
		},
		{
			name: "InvoiceWithParentSubscription",
			payload: `{"id":"evt_3","object":"event","type":"invoice.payment_failed","created":1,
"data":{"object":{"id":"in_9","object":"invoice","customer":"cus_B","subscription":null,
"parent":{"subscription_details":{"subscription":"sub_B"}}}}}`,
			check: func(t *testing.T, ev stripeclient.Event) {
				if ev.InvoiceID != "in_9" || ev.SubscriptionID != "sub_B" || ev.CustomerID != "cus_B" {
					t.Errorf("event = %+v", ev)
				}
			},
		},
		{
			name: "CustomerDeleted",
			payload: `{"id":"evt_4","object":"event","type":"customer.deleted","created":1,
"data":{"object":{"id":"cus_C","object":"customer","deleted":true}}}`,
			check: func(t *testing.T, ev stripeclient.Event) {
				if ev.CustomerID != "cus_C" || ev.Type != stripeclient.EventCustomerDeleted {
					t.Errorf("event = %+v", ev)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := stripeclient.ParseEvent([]byte(tc.payload))
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			tc.check(t, ev)
		})
	}

	for _, bad := range []string{
		`{}`,
		`{"id":"evt_1","object":"charge","type":"x","data":{"object":{}}}`,
		`{"id":"evt_1","type":"x","data":{"object":[]}}`,
		`{"id":"evt_1","type":"x","data":{"object":{"customer":5}}}`,
		`{"id":"evt_1","type":"x","data":{"object":{"metadata":{"k":1}}}}`,
		`{"id":"evt_1","type":"x","data":{"object":{},"previous_attributes":[1]}}`,
	} {
		if _, err := stripeclient.ParseEvent([]byte(bad)); !errors.Is(err, stripeclient.ErrMalformedEvent) {
			t.Errorf("ParseEvent(%s) err = %v, want ErrMalformedEvent", bad, err)
		}
	}
}

func TestParseSignature(t *testing.T) {
	sig, err := stripeclient.ParseSignature(" t=12 , v1=00ff , v0=zz , v1=nothex , x=y ")
	if err != nil {
		t.Fatalf("ParseSignature: %v", err)
	}
	if sig.Timestamp.Unix() != 12 || len(sig.V1) != 1 || sig.V1[0][1] != 0xff {
		t.Errorf("signature = %+v, want t=12 and one v1", sig)
	}
	for _, h := range []string{"t=1,t=2,v1=00", "t=-1,v1=00", "t=x,v1=00", "t=1,v1=00=", strings.Repeat("v1=00,", 2000) + "t=1"} {
		if _, err := stripeclient.ParseSignature(h); !errors.Is(err, stripeclient.ErrInvalidHeader) {
			t.Errorf("ParseSignature(%.40q) err = %v, want ErrInvalidHeader", h, err)
		}
	}
}

// TestParseEventDetails: invoice, subscription and card fields the
// platform applies are read from the event object.
func TestParseEventDetails(t *testing.T) {
	inv, err := stripeclient.ParseEvent([]byte(`{"id":"evt_1","object":"event","type":"invoice.paid","created":1700000000,
"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1","subscription":"sub_1","status":"paid","currency":"eur",
"total":1200,"amount_due":0,"amount_paid":1200,"number":"A-1","hosted_invoice_url":"https://h","invoice_pdf":"https://p",
"created":1699990000,"period_start":1697000000,"period_end":1699600000}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Number != "A-1" || inv.Total != 1200 || inv.HostedURL != "https://h" || inv.PDFURL != "https://p" ||
		inv.ObjectCreated.Unix() != 1699990000 || inv.PeriodStart.Unix() != 1697000000 || inv.PeriodEnd.Unix() != 1699600000 || inv.Card != nil {
		t.Errorf("invoice event = %+v", inv)
	}
	pm, err := stripeclient.ParseEvent([]byte(`{"id":"evt_2","object":"event","type":"payment_method.attached","created":1700000000,
"data":{"object":{"id":"pm_1","object":"payment_method","customer":"cus_1","card":{"brand":"visa","last4":"4242","exp_month":8,"exp_year":2031}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if pm.Card == nil || *pm.Card != (stripeclient.Card{PaymentMethodID: "pm_1", Brand: "visa", Last4: "4242", ExpMonth: 8, ExpYear: 2031}) || pm.CustomerID != "cus_1" {
		t.Errorf("payment method event = %+v card %+v", pm, pm.Card)
	}
	sub, err := stripeclient.ParseEvent([]byte(`{"id":"evt_3","object":"event","type":"customer.subscription.updated","created":1700000000,
"data":{"object":{"id":"sub_1","object":"subscription","customer":"cus_1","status":"past_due","current_period_end":1702592000}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if sub.CurrentPeriodEnd.Unix() != 1702592000 || sub.SubscriptionID != "sub_1" || sub.Status != "past_due" {
		t.Errorf("subscription event = %+v", sub)
	}
}
