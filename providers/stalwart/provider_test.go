package main

import (
	"net/http"
	"testing"

	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/simtest"
	"github.com/dezky/platform/providers/stalwart/stalwartapi"
	"github.com/dezky/platform/providers/stalwart/stalwartsim"
)

const (
	testToken      = "conformance-api-key"
	testWebhookKey = "conformance-webhook-key"
)

func signedWebhook() sdk.Webhook {
	body := []byte(`{"events":[{"id":"17505177000000001","createdAt":"2025-06-21T14:55:00Z","type":"auth.failed","data":{"accountName":"alice@example.test","remoteIp":"192.0.2.10"}}]}`)
	h := http.Header{}
	h.Set(stalwartapi.SignatureHeader, stalwartapi.Sign([]byte(testWebhookKey), body))
	h.Set("Content-Type", "application/json")
	return sdk.Webhook{Header: h, Body: body}
}

// TestConformance builds the plugin binary, points it at a Stalwart simulator
// and runs the sdk.Mail conformance suite.
func TestConformance(t *testing.T) {
	_, srv := simtest.NewStalwart(t, stalwartsim.Options{Token: testToken})
	h := conformance.Launch(t, conformance.Plugin{
		Package:      "github.com/dezky/platform/providers/stalwart",
		Name:         "stalwart",
		Capabilities: []sdk.Capability{sdk.CapabilityMail},
		Settings:     map[string]string{"url": srv.URL},
		Secrets:      map[string]string{"token": testToken, "webhook_key": testWebhookKey},
	})
	conformance.RunAll(t, h, conformance.WithMailWebhook(signedWebhook()))
}

// TestConformance_InProcess runs the same suite against the provider value.
func TestConformance_InProcess(t *testing.T) {
	_, srv := simtest.NewStalwart(t, stalwartsim.Options{Token: testToken})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{
		Settings: map[string]string{"url": srv.URL},
		Secrets:  map[string]string{"token": testToken, "webhook_key": testWebhookKey},
	}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	conformance.RunProvider(t, p)
	conformance.RunMail(t, p, conformance.WithMailWebhook(signedWebhook()))

	evs, err := p.ParseMailWebhook(t.Context(), signedWebhook())
	if err != nil || len(evs) != 1 || evs[0].Address != "alice@example.test" || evs[0].Domain != "example.test" || evs[0].Detail["remoteIp"] != "192.0.2.10" {
		t.Fatalf("ParseMailWebhook = %+v, %v", evs, err)
	}
}

func TestDMARCPolicyReplacesProposedRecord(t *testing.T) {
	_, srv := simtest.NewStalwart(t, stalwartsim.Options{Token: testToken})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{Settings: map[string]string{"url": srv.URL}, Secrets: map[string]string{"token": testToken}}); err != nil {
		t.Fatal(err)
	}
	d, err := p.CreateDomain(t.Context(), sdk.CreateDomainRequest{Name: "acme.example"})
	if err != nil || d.DMARCPolicy != sdk.DMARCReject {
		t.Fatalf("default policy: %+v %v", d, err)
	}
	if _, err := p.SetDMARCPolicy(t.Context(), sdk.SetDMARCPolicyRequest{Domain: "acme.example", Policy: sdk.DMARCQuarantine, Percent: 25}); err != nil {
		t.Fatal(err)
	}
	d, err = p.GetDomain(t.Context(), "acme.example")
	if err != nil || d.DMARCPolicy != sdk.DMARCQuarantine {
		t.Fatalf("stored policy: %+v %v", d, err)
	}
	n := 0
	for _, r := range d.DNSRecords {
		if r.Name == "_dmarc.acme.example" {
			n++
			if r.Value != "v=DMARC1; p=quarantine; pct=25" {
				t.Fatalf("dmarc record %q", r.Value)
			}
		}
	}
	if n != 1 {
		t.Fatalf("want one DMARC record, got %d", n)
	}
	if _, err := p.ParseMailWebhook(t.Context(), signedWebhook()); !sdk.IsUnauthenticated(err) {
		t.Fatalf("webhook without configured key must be rejected: %v", err)
	}
}

func TestHealthFollowsUpstream(t *testing.T) {
	sim, srv := simtest.NewStalwart(t, stalwartsim.Options{Token: testToken})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{Settings: map[string]string{"url": srv.URL}, Secrets: map[string]string{"token": testToken}}); err != nil {
		t.Fatal(err)
	}
	sim.SetOutage(503)
	if h, err := p.Health(t.Context()); err != nil || h.Healthy || h.Message == "" {
		t.Fatalf("during outage: %+v %v", h, err)
	}
	if _, err := p.ListDomains(t.Context()); !sdk.IsUnavailable(err) {
		t.Fatalf("call during outage: %v", err)
	}
	sim.ClearFaults()
	if h, err := p.Health(t.Context()); err != nil || !h.Healthy {
		t.Fatalf("after outage: %+v %v", h, err)
	}
}
