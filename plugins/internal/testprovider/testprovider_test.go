package testprovider_test

import (
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/internal/testprovider"
	"github.com/dezky/platform/plugins/sdk"
)

const webhookSecret = "whsec-conformance"

func signedWebhook(body string) sdk.Webhook {
	sig := testprovider.Sign([]byte(webhookSecret), []byte(body))
	return sdk.Webhook{
		Header: http.Header{testprovider.SignatureHeader: {hex.EncodeToString(sig)}},
		Body:   []byte(body),
	}
}

func options() []conformance.Option {
	return []conformance.Option{
		conformance.WithMailWebhook(signedWebhook(`[{"id":"m1","type":"delivery.bounced","subject":"alice@example.test"}]`)),
		conformance.WithBillingWebhook(signedWebhook(`[{"id":"evt_1","type":"invoice.paid","subject":"in_1","customer":"cus-1"}]`)),
		conformance.WithDNSZone("zone.example.test"),
	}
}

func TestConformance_InProcess(t *testing.T) {
	p := testprovider.New()
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{Secrets: map[string]string{"webhook_secret": webhookSecret}}); err != nil {
		t.Fatal(err)
	}
	t.Run("identity", func(t *testing.T) { conformance.RunIdentity(t, p, options()...) })
	t.Run("mail", func(t *testing.T) { conformance.RunMail(t, p, options()...) })
	t.Run("storage", func(t *testing.T) { conformance.RunStorage(t, p, options()...) })
	t.Run("dns", func(t *testing.T) { conformance.RunDNS(t, p, options()...) })
	t.Run("billing", func(t *testing.T) { conformance.RunBilling(t, p, options()...) })
}

func TestConformance_Plugin(t *testing.T) {
	h := conformance.Launch(t, conformance.Plugin{
		Package:      "github.com/dezky/platform/plugins/internal/testprovider/cmd/dezky-provider-test",
		Capabilities: sdk.Capabilities,
		Secrets:      map[string]string{"webhook_secret": webhookSecret},
	})
	conformance.RunAll(t, h, options()...)
}
