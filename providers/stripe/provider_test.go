package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/stripe/stripeclient"
	"github.com/dezky/platform/providers/stripe/stripetest"
)

const testWebhookSecret = "whsec_conformance0123456789"

func signedWebhook() sdk.Webhook {
	body := []byte(fmt.Sprintf(`{"id":"evt_cf","object":"event","api_version":%q,"created":%d,"type":"invoice.paid",
"data":{"object":{"id":"in_cf","object":"invoice","customer":"cus_cf","subscription":"sub_cf","status":"paid","currency":"eur","amount_due":100,"amount_paid":100}}}`,
		stripe.APIVersion, time.Now().Unix()))
	h := http.Header{}
	h.Set(stripeclient.SignatureHeader, stripeclient.SignPayload(testWebhookSecret, time.Now(), body))
	h.Set("Content-Type", "application/json")
	return sdk.Webhook{Header: h, Body: body}
}

// TestConformance builds the plugin binary, points it at a private
// stripe-mock and runs the sdk.Billing conformance suite. stripe-mock keeps
// no state, so the suite runs in its stateless mode.
func TestConformance(t *testing.T) {
	mock := stripetest.Start(t)
	h := conformance.Launch(t, conformance.Plugin{
		Package:      "github.com/dezky/platform/providers/stripe",
		Name:         "stripe",
		Capabilities: []sdk.Capability{sdk.CapabilityBilling},
		Settings:     map[string]string{"api_base_url": mock.URL},
		Secrets:      map[string]string{"api_key": mock.APIKey, "webhook_secret": testWebhookSecret},
	})
	conformance.RunAll(t, h, conformance.Stateless(), conformance.WithBillingWebhook(signedWebhook()))
}

// TestConformance_InProcess runs the same suite against the provider value.
func TestConformance_InProcess(t *testing.T) {
	mock := stripetest.Start(t)
	p := &provider{}
	err := p.Configure(t.Context(), sdk.ConfigureRequest{
		Settings: map[string]string{"api_base_url": mock.URL},
		Secrets:  map[string]string{"api_key": mock.APIKey, "webhook_secret": testWebhookSecret},
	})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	conformance.RunProvider(t, p)
	conformance.RunBilling(t, p, conformance.Stateless(), conformance.WithBillingWebhook(signedWebhook()))

	evs, err := p.ParseBillingWebhook(t.Context(), signedWebhook())
	if err != nil {
		t.Fatalf("ParseBillingWebhook: %v", err)
	}
	if got := evs[0]; got.ObjectID != "in_cf" || got.CustomerID != "cus_cf" || got.Data["subscription_id"] != "sub_cf" || got.Data["amount_paid"] != "100" {
		t.Errorf("event = %+v", got)
	}
	for _, bad := range []map[string]string{
		{"pause_behavior": "forever"},
		{"proration_behavior": "sometimes"},
	} {
		err := (&provider{}).Configure(t.Context(), sdk.ConfigureRequest{Settings: bad, Secrets: map[string]string{"api_key": mock.APIKey}})
		if sdk.ErrorCode(err) != sdk.CodeInvalid {
			t.Errorf("Configure(%v) = %v, want INVALID", bad, err)
		}
	}
	if err := (&provider{}).Configure(t.Context(), sdk.ConfigureRequest{}); sdk.ErrorCode(err) != sdk.CodeInvalid {
		t.Errorf("Configure without api_key = %v, want INVALID", err)
	}
}
