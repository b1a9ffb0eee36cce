package stalwartapi_test

import (
	"strings"
	"testing"

	"github.com/dezky/platform/providers/stalwart/stalwartapi"
)

const sampleZone = `; comment line
$ORIGIN example.org.
$TTL 1h
@            IN MX    10 mail.example.net.
             IN TXT   "v=spf1 mx ra=postmaster -all" ; trailing comment
202611e._domainkey 300 IN TXT ( "v=DKIM1; k=rsa; h=sha256; "
                           "p=MIIBIjAN\"q\"" )
_dmarc       IN TXT   "v=DMARC1; p=reject"
mail         CNAME    host
_imaps._tcp  IN SRV   0 1 993 mail.example.net.
@            IN CAA   0 issue "letsencrypt.org"
www.other.com. 60 A 192.0.2.1
`

func TestParseZoneFile(t *testing.T) {
	recs, err := stalwartapi.ParseZoneFile(sampleZone, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []stalwartapi.DNSRecord{
		{Name: "example.org", Type: "MX", TTL: 3600, Value: "10 mail.example.net."},
		{Name: "example.org", Type: "TXT", TTL: 3600, Value: "v=spf1 mx ra=postmaster -all"},
		{Name: "202611e._domainkey.example.org", Type: "TXT", TTL: 300, Value: `v=DKIM1; k=rsa; h=sha256; p=MIIBIjAN"q"`},
		{Name: "_dmarc.example.org", Type: "TXT", TTL: 3600, Value: "v=DMARC1; p=reject"},
		{Name: "mail.example.org", Type: "CNAME", TTL: 3600, Value: "host.example.org."},
		{Name: "_imaps._tcp.example.org", Type: "SRV", TTL: 3600, Value: "0 1 993 mail.example.net."},
		{Name: "example.org", Type: "CAA", TTL: 3600, Value: `0 issue "letsencrypt.org"`},
		{Name: "www.other.com", Type: "A", TTL: 60, Value: "192.0.2.1"},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records: %+v", len(recs), recs)
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, recs[i], want[i])
		}
	}
}

func TestParseZoneFileErrors(t *testing.T) {
	for _, z := range []string{
		`@ IN TXT "unterminated`,
		`@ IN TXT ( "x"`,
		`@ IN TXT "x" )`,
		`relative IN A 192.0.2.1`,
		`$INCLUDE other.zone`,
		`$ORIGIN relative`,
		`x.example. IN BOGUS 1`,
		`x.example. IN MX`,
		`x.example. 99999999999 IN A 192.0.2.1`,
	} {
		if _, err := stalwartapi.ParseZoneFile(z, ""); err == nil {
			t.Errorf("expected error for %q", z)
		}
	}
}

func TestParseWebhook(t *testing.T) {
	evs, err := stalwartapi.ParseWebhook([]byte(`{"events":[{"id":"1750517700000001","createdAt":"2025-06-21T14:55:00Z","type":"auth.success","data":{"accountName":"jane","remoteIp":"1.2.3.4"}},{"id":42,"type":"delivery.delivered","data":{"to":["a@b"]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Account != "jane" || evs[0].RemoteIP != "1.2.3.4" || evs[0].CreatedAt.Year() != 2025 || evs[1].ID != "42" {
		t.Fatalf("%+v", evs)
	}
	for _, bad := range []string{`{}`, `{"events":{}}`, `{"events":[{"type":"x"}]}`, `{"events":[{"id":"1"}]}`, `[]`, `not json`} {
		if _, err := stalwartapi.ParseWebhook([]byte(bad)); err == nil {
			t.Errorf("expected error for %s", bad)
		}
	}
}

func TestDMARCRoundTrip(t *testing.T) {
	p, err := stalwartapi.ParseDMARC("v=DMARC1; p=reject; rua=mailto:postmaster@example.org; ruf=mailto:postmaster@example.org")
	if err != nil || p.Policy != "reject" || len(p.RUA) != 1 || p.RUA[0] != "postmaster@example.org" {
		t.Fatalf("%+v %v", p, err)
	}
	s, err := stalwartapi.BuildDMARC(stalwartapi.DMARCPolicy{Policy: "none", SubdomainPolicy: "quarantine", Percent: 100, ADKIM: "s"})
	if err != nil || s != "v=DMARC1; p=none; sp=quarantine; adkim=s" {
		t.Fatalf("%q %v", s, err)
	}
	for _, bad := range []string{"p=reject", "v=DMARC1", "v=DMARC1; p=maybe", "v=DMARC1; p=none; pct=101", "v=DMARC1; p=none; rua=https://x"} {
		if _, err := stalwartapi.ParseDMARC(bad); err == nil {
			t.Errorf("expected error for %q", bad)
		}
	}
	if _, err := stalwartapi.BuildDMARC(stalwartapi.DMARCPolicy{Policy: "none", RUA: []string{"a@b; p=reject"}}); err == nil || !strings.Contains(err.Error(), "report address") {
		t.Fatalf("injection not rejected: %v", err)
	}
}
