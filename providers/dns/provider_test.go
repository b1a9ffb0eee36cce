package main

import (
	"testing"

	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/dns/dnstest"
)

const (
	testKeyName = "dezky-update"
	testSecret  = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA=="
)

// TestConformance builds the plugin binary, serves it a zone from an
// in-process DNS server that accepts TSIG-signed updates, and runs the
// sdk.DNS conformance suite including record changes.
func TestConformance(t *testing.T) {
	srv := dnstest.Start(t, dnstest.Config{
		Zones:    []string{"conformance.test."},
		Records:  []string{`conformance.test. 300 IN A 192.0.2.1`},
		TSIGKeys: map[string]string{testKeyName: testSecret},
	})
	h := conformance.Launch(t, conformance.Plugin{
		Package:      "github.com/dezky/platform/providers/dns",
		Name:         "dns",
		Capabilities: []sdk.Capability{sdk.CapabilityDNS},
		Settings: map[string]string{
			"resolvers":     srv.Addr,
			"update_server": srv.Addr,
			"tsig_key_name": testKeyName,
			"health_name":   "conformance.test",
		},
		Secrets: map[string]string{"tsig_secret": testSecret},
	})
	conformance.RunAll(t, h, conformance.WithDNSZone("conformance.test"))
}

// TestConformance_InProcess runs the suite against the provider value
// without updates configured, so record changes report UNSUPPORTED.
func TestConformance_InProcess(t *testing.T) {
	srv := dnstest.Start(t, dnstest.Config{Zones: []string{"conformance.test."}})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{Settings: map[string]string{"resolvers": srv.Addr}}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	conformance.RunProvider(t, p)
	conformance.RunDNS(t, p, conformance.WithDNSZone("conformance.test"))
}

// TestRefusedUpdateIsUnauthenticated: an update for a zone the server
// does not let the key change is a definite UNAUTHENTICATED answer, not
// an outage.
func TestRefusedUpdateIsUnauthenticated(t *testing.T) {
	srv := dnstest.Start(t, dnstest.Config{Zones: []string{"held.test.", "elsewhere.test."}, UpdateZones: []string{"held.test."},
		TSIGKeys: map[string]string{testKeyName: testSecret}})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{
		Settings: map[string]string{"resolvers": srv.Addr, "update_server": srv.Addr, "tsig_key_name": testKeyName},
		Secrets:  map[string]string{"tsig_secret": testSecret}}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	rec := sdk.DNSRecord{Name: "x.elsewhere.test", Type: "TXT", Value: "v", TTL: 60}
	for _, zone := range []string{"elsewhere.test", "unknown.test"} {
		rec.Name = "x." + zone
		if err := p.UpsertRecord(t.Context(), sdk.RecordChange{Zone: zone, Record: rec}); sdk.ErrorCode(err) != sdk.CodeUnauthenticated {
			t.Errorf("update of zone %s: %v, want UNAUTHENTICATED", zone, err)
		}
	}
	rec.Name = "x.held.test"
	if err := p.UpsertRecord(t.Context(), sdk.RecordChange{Zone: "held.test", Record: rec}); err != nil {
		t.Fatalf("update of the held zone: %v", err)
	}
}
