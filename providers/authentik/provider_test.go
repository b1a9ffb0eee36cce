package main

import (
	"testing"
	"time"

	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/authentik/authentiksim"
	"github.com/dezky/platform/providers/simtest"
)

const testToken = "conformance-admin-token"

// TestConformance builds the plugin binary, points it at an Authentik
// simulator and runs the sdk.Identity conformance suite.
func TestConformance(t *testing.T) {
	_, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: testToken})
	h := conformance.Launch(t, conformance.Plugin{
		Package:      "github.com/dezky/platform/providers/authentik",
		Name:         "authentik",
		Capabilities: []sdk.Capability{sdk.CapabilityIdentity},
		Settings:     map[string]string{"url": srv.URL},
		Secrets:      map[string]string{"token": testToken},
	})
	conformance.RunAll(t, h)
}

// TestConformance_InProcess runs the same suite against the provider value.
func TestConformance_InProcess(t *testing.T) {
	sim, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: testToken})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{
		Settings: map[string]string{"url": srv.URL}, Secrets: map[string]string{"token": testToken},
	}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	conformance.RunProvider(t, p)
	conformance.RunIdentity(t, p)

	// Authenticator types are reported per device kind.
	u, err := p.CreateUser(t.Context(), sdk.CreateUserRequest{Username: "mfa-user", Name: "M", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := userPK(u.ID)
	if _, err := sim.AddAuthenticator(pk, "totp", "phone", true); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddAuthenticator(pk, "webauthn", "key", true); err != nil {
		t.Fatal(err)
	}
	cnt, err := p.CountAuthenticators(t.Context(), u.ID)
	if err != nil || cnt.Total != 2 || cnt.ByType["totp"] != 1 || cnt.ByType["webauthn"] != 1 {
		t.Fatalf("CountAuthenticators = %+v, %v", cnt, err)
	}
}

func TestConfigureRequiresSettings(t *testing.T) {
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{Settings: map[string]string{"url": "http://x"}}); !sdk.IsInvalid(err) {
		t.Fatalf("missing token: %v", err)
	}
	if h, err := p.Health(t.Context()); err != nil || h.Healthy {
		t.Fatalf("unconfigured health: %+v %v", h, err)
	}
}

func TestHealthFollowsUpstream(t *testing.T) {
	sim, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: testToken})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{Settings: map[string]string{"url": srv.URL}, Secrets: map[string]string{"token": testToken}}); err != nil {
		t.Fatal(err)
	}
	sim.SetOutage(503)
	if h, err := p.Health(t.Context()); err != nil || h.Healthy || h.Message == "" {
		t.Fatalf("during outage: %+v %v", h, err)
	}
	if _, err := p.GetUser(t.Context(), "1"); !sdk.IsUnavailable(err) {
		t.Fatalf("call during outage: %v", err)
	}
	sim.SetOutage(0)
	if h, err := p.Health(t.Context()); err != nil || !h.Healthy {
		t.Fatalf("after outage: %+v %v", h, err)
	}
}

// TestParseDuration reads authentik's duration format.
func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"": 0, "days=1": 24 * time.Hour, "hours=12;minutes=30": 12*time.Hour + 30*time.Minute,
		"weeks=1; seconds=5": 7*24*time.Hour + 5*time.Second,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"days", "fortnights=1", "days=-1", "days=x"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) succeeded", bad)
		}
	}
}
