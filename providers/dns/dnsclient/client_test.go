package dnsclient_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dezky/platform/providers/dns/dnsclient"
	"github.com/dezky/platform/providers/dns/dnstest"
)

const (
	tsigName   = "dezky-update"
	tsigSecret = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA=="
)

func zoneRecords() []string {
	big := make([]string, 0, 12)
	for i := range 12 {
		big = append(big, `big.example.test. 300 IN TXT "`+strings.Repeat(string(rune('a'+i)), 200)+`"`)
	}
	return append([]string{
		`example.test. 300 IN MX 10 mx.dezky.test.`,
		`example.test. 300 IN MX 20 backup.other.test.`,
		`example.test. 300 IN TXT "v=spf1 include:spf.dezky.test ~all"`,
		`example.test. 300 IN TXT "dezky-verification=tok123"`,
		`sel1._domainkey.example.test. 300 IN TXT "v=DKIM1; k=rsa; " "p=MIIBkey+/="`,
		`_dmarc.example.test. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.test"`,
		`www.example.test. 300 IN A 192.0.2.10`,
		`www.example.test. 300 IN AAAA 2001:db8::10`,
		`alias.example.test. 300 IN CNAME www.example.test.`,
	}, big...)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustServer(tb testing.TB) *dnstest.Server {
	tb.Helper()
	return dnstest.Start(tb, dnstest.Config{
		Zones:    []string{"example.test.", "other.test."},
		Records:  zoneRecords(),
		TSIGKeys: map[string]string{tsigName: tsigSecret},
	})
}

func mustClient(tb testing.TB, cfg dnsclient.Config) *dnsclient.Client {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	c, err := dnsclient.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want kind %v", err, kind)
	}
	var de *dnsclient.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %T, want *dnsclient.Error", err)
	}
}

func values(recs []dnsclient.Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Value)
	}
	slices.Sort(out)
	return out
}

func TestClient_Lookup(t *testing.T) {
	srv := mustServer(t)
	c := mustClient(t, dnsclient.Config{Resolvers: []string{srv.Addr}})
	ctx := context.Background()

	tests := []struct {
		name string
		typ  dnsclient.RecordType
		want []string
	}{
		{"example.test", dnsclient.TypeMX, []string{"backup.other.test", "mx.dezky.test"}},
		{"EXAMPLE.test.", dnsclient.TypeTXT, []string{"dezky-verification=tok123", "v=spf1 include:spf.dezky.test ~all"}},
		{"sel1._domainkey.example.test", dnsclient.TypeTXT, []string{"v=DKIM1; k=rsa; p=MIIBkey+/="}},
		{"www.example.test", dnsclient.TypeA, []string{"192.0.2.10"}},
		{"www.example.test", dnsclient.TypeAAAA, []string{"2001:db8::10"}},
		{"alias.example.test", dnsclient.TypeCNAME, []string{"www.example.test"}},
		// The server follows the CNAME; only the A records are returned.
		{"alias.example.test", dnsclient.TypeA, []string{"192.0.2.10"}},
		{"www.example.test", dnsclient.TypeMX, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+string(tc.typ), func(t *testing.T) {
			recs, err := c.Lookup(ctx, tc.name, tc.typ)
			if err != nil {
				t.Fatalf("Lookup(%s, %s): %v", tc.name, tc.typ, err)
			}
			if got := values(recs); !slices.Equal(got, tc.want) {
				t.Errorf("Lookup(%s, %s) = %q, want %q", tc.name, tc.typ, got, tc.want)
			}
			for _, r := range recs {
				if r.Type != tc.typ || r.TTL != 300 || strings.HasSuffix(r.Name, ".") || r.Name != strings.ToLower(r.Name) {
					t.Errorf("record %+v: want type %s, TTL 300, lower-case name without dot", r, tc.typ)
				}
			}
		})
	}

	t.Run("MXPriority", func(t *testing.T) {
		recs, err := c.Lookup(ctx, "example.test", dnsclient.TypeMX)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if (r.Value == "mx.dezky.test" && r.Priority != 10) || (r.Value == "backup.other.test" && r.Priority != 20) {
				t.Errorf("record %+v has the wrong priority", r)
			}
		}
	})

	t.Run("NXDOMAIN", func(t *testing.T) {
		_, err := c.Lookup(ctx, "nope.example.test", dnsclient.TypeTXT)
		wantKind(t, err, dnsclient.ErrNotFound)
	})

	t.Run("TruncatedAnswerRetriedOverTCP", func(t *testing.T) {
		before := len(srv.Queries())
		recs, err := c.Lookup(ctx, "big.example.test", dnsclient.TypeTXT)
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		if len(recs) != 12 {
			t.Fatalf("records = %d, want 12", len(recs))
		}
		var nets []string
		for _, q := range srv.Queries()[before:] {
			nets = append(nets, q.Network)
		}
		if !slices.Equal(nets, []string{"udp", "tcp"}) {
			t.Errorf("transports = %v, want [udp tcp]", nets)
		}
	})

	t.Run("InvalidInput", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			typ  dnsclient.RecordType
		}{
			{"", dnsclient.TypeA}, {"bad name.test", dnsclient.TypeA}, {"x.test", "SRV"},
			{strings.Repeat("a", 64) + ".test", dnsclient.TypeA},
		} {
			_, err := c.Lookup(ctx, tc.name, tc.typ)
			wantKind(t, err, dnsclient.ErrInvalid)
		}
	})
}

// deadAddr returns a loopback UDP address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestClient_ResolverFallback(t *testing.T) {
	good := mustServer(t)
	failing := dnstest.Start(t, dnstest.Config{Zones: []string{"example.test."}, Rcode: dns.RcodeServerFailure})
	refusing := dnstest.Start(t, dnstest.Config{Zones: []string{"unrelated.test."}})
	ctx := context.Background()

	t.Run("NextResolverAnswers", func(t *testing.T) {
		c := mustClient(t, dnsclient.Config{Resolvers: []string{failing.Addr, deadAddr(t), refusing.Addr, good.Addr}})
		recs, err := c.Lookup(ctx, "www.example.test", dnsclient.TypeA)
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		if got := values(recs); !slices.Equal(got, []string{"192.0.2.10"}) {
			t.Errorf("Lookup = %v", got)
		}
		if len(failing.Queries()) != 1 || len(refusing.Queries()) != 1 {
			t.Errorf("failing got %d queries, refusing %d; want 1 each", len(failing.Queries()), len(refusing.Queries()))
		}
	})

	t.Run("NXDOMAINIsFinal", func(t *testing.T) {
		other := mustServer(t)
		c := mustClient(t, dnsclient.Config{Resolvers: []string{good.Addr, other.Addr}})
		_, err := c.Lookup(ctx, "missing.example.test", dnsclient.TypeA)
		wantKind(t, err, dnsclient.ErrNotFound)
		if n := len(other.Queries()); n != 0 {
			t.Errorf("second resolver asked %d times after NXDOMAIN", n)
		}
	})

	t.Run("AllFail", func(t *testing.T) {
		c := mustClient(t, dnsclient.Config{Resolvers: []string{deadAddr(t), failing.Addr}})
		_, err := c.Lookup(ctx, "www.example.test", dnsclient.TypeA)
		wantKind(t, err, dnsclient.ErrUnavailable)
		var de *dnsclient.Error
		errors.As(err, &de)
		if de.Rcode != dns.RcodeServerFailure || de.Server != failing.Addr {
			t.Errorf("error = %+v, want SERVFAIL from the last resolver", de)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		c := mustClient(t, dnsclient.Config{Resolvers: []string{good.Addr}})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.Lookup(cctx, "www.example.test", dnsclient.TypeA)
		wantKind(t, err, dnsclient.ErrUnavailable)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want it to wrap context.Canceled", err)
		}
	})

	t.Run("ConfigValidation", func(t *testing.T) {
		for _, cfg := range []dnsclient.Config{
			{},
			{Resolvers: []string{"bad host:53"}},
			{Resolvers: []string{"127.0.0.1"}, UpdateServer: "127.0.0.1"},
			{Resolvers: []string{"127.0.0.1"}, UpdateServer: "127.0.0.1", TSIG: &dnsclient.TSIGKey{Name: "k", Secret: "not base64!"}},
			{Resolvers: []string{"127.0.0.1"}, UpdateServer: "127.0.0.1", TSIG: &dnsclient.TSIGKey{Name: "k", Secret: tsigSecret, Algorithm: "hmac-md5"}},
		} {
			_, err := dnsclient.New(cfg)
			wantKind(t, err, dnsclient.ErrInvalid)
			if strings.Contains(err.Error(), tsigSecret) {
				t.Errorf("error %q contains the TSIG secret", err)
			}
		}
	})
}

func TestClient_VerifyMail(t *testing.T) {
	srv := mustServer(t)
	c := mustClient(t, dnsclient.Config{Resolvers: []string{srv.Addr}})
	ctx := context.Background()
	full := dnsclient.MailExpectation{
		Domain: "example.test", MXHost: "mx.dezky.test.", SPFInclude: "spf.dezky.test",
		DKIMSelector: "sel1", DKIMPublicKey: "MIIB key+/=", DMARCPolicy: "quarantine", OwnershipToken: "dezky-verification=tok123",
	}

	t.Run("AllOK", func(t *testing.T) {
		rep, err := c.VerifyMail(ctx, full)
		if err != nil {
			t.Fatalf("VerifyMail: %v", err)
		}
		if !rep.OK || len(rep.Checks) != 5 {
			t.Fatalf("report = %+v, want 5 OK checks", rep)
		}
		kinds := []dnsclient.CheckKind{}
		for _, ch := range rep.Checks {
			kinds = append(kinds, ch.Kind)
			if !ch.OK || ch.Status != dnsclient.StatusOK || len(ch.Found) == 0 || ch.Expected == "" {
				t.Errorf("check %+v, want ok with expected and found", ch)
			}
		}
		want := []dnsclient.CheckKind{dnsclient.CheckMX, dnsclient.CheckSPF, dnsclient.CheckDKIM, dnsclient.CheckDMARC, dnsclient.CheckOwnership}
		if !slices.Equal(kinds, want) {
			t.Errorf("check order = %v, want %v", kinds, want)
		}
		if rep.Checks[2].Name != "sel1._domainkey.example.test" || rep.Checks[3].Name != "_dmarc.example.test" {
			t.Errorf("DKIM/DMARC names = %q, %q", rep.Checks[2].Name, rep.Checks[3].Name)
		}
	})

	t.Run("Mismatches", func(t *testing.T) {
		exp := dnsclient.MailExpectation{
			Domain: "example.test", MXHost: "mx.elsewhere.test", SPFInclude: "spf.elsewhere.test",
			DKIMSelector: "sel1", DKIMPublicKey: "OTHERKEY", DMARCPolicy: "reject", OwnershipToken: "dezky-verification=other",
		}
		rep, err := c.VerifyMail(ctx, exp)
		if err != nil {
			t.Fatalf("VerifyMail: %v", err)
		}
		if rep.OK {
			t.Fatal("report OK with every record wrong")
		}
		for _, ch := range rep.Checks {
			if ch.OK || ch.Status != dnsclient.StatusMismatch || ch.Detail == "" || len(ch.Found) == 0 {
				t.Errorf("check %+v, want mismatch with detail and found values", ch)
			}
		}
		if got := rep.Checks[0].Found; !slices.Contains(got, "10 mx.dezky.test") {
			t.Errorf("MX found = %v, want it to list 10 mx.dezky.test", got)
		}
	})

	t.Run("MissingDomain", func(t *testing.T) {
		exp := full
		exp.Domain = "absent.example.test"
		rep, err := c.VerifyMail(ctx, exp)
		if err != nil {
			t.Fatalf("VerifyMail: %v", err)
		}
		for _, ch := range rep.Checks {
			if ch.Status != dnsclient.StatusMissing || len(ch.Found) != 0 {
				t.Errorf("check %+v, want missing", ch)
			}
		}
	})

	t.Run("LookupFailureIsPerCheck", func(t *testing.T) {
		failing := dnstest.Start(t, dnstest.Config{Zones: []string{"example.test."}, Rcode: dns.RcodeServerFailure})
		fc := mustClient(t, dnsclient.Config{Resolvers: []string{failing.Addr}})
		rep, err := fc.VerifyMail(ctx, full)
		if err != nil {
			t.Fatalf("VerifyMail: %v", err)
		}
		for _, ch := range rep.Checks {
			if ch.Status != dnsclient.StatusError || ch.Detail == "" {
				t.Errorf("check %+v, want error status with detail", ch)
			}
		}
	})

	t.Run("InvalidExpectation", func(t *testing.T) {
		for _, exp := range []dnsclient.MailExpectation{
			{},
			{Domain: "example.test"},
			{Domain: "example.test", DMARCPolicy: "block"},
		} {
			_, err := c.VerifyMail(ctx, exp)
			wantKind(t, err, dnsclient.ErrInvalid)
		}
	})
}

func TestClient_Updates(t *testing.T) {
	srv := mustServer(t)
	key := &dnsclient.TSIGKey{Name: tsigName, Secret: tsigSecret, Algorithm: "hmac-sha256"}
	c := mustClient(t, dnsclient.Config{Resolvers: []string{srv.Addr}, UpdateServer: srv.Addr, TSIG: key})
	ctx := context.Background()

	lookup := func(t *testing.T, name string, typ dnsclient.RecordType) []string {
		t.Helper()
		recs, err := c.Lookup(ctx, name, typ)
		if errors.Is(err, dnsclient.ErrNotFound) {
			return []string{}
		}
		if err != nil {
			t.Fatalf("Lookup(%s, %s): %v", name, typ, err)
		}
		return values(recs)
	}

	t.Run("UpsertTXTKeepsOtherValues", func(t *testing.T) {
		rec := dnsclient.Record{Name: "example.test", Type: dnsclient.TypeTXT, Value: "dezky-verification=new"}
		for range 2 {
			if err := c.UpsertRecord(ctx, "example.test", rec); err != nil {
				t.Fatalf("UpsertRecord: %v", err)
			}
		}
		want := []string{"dezky-verification=new", "dezky-verification=tok123", "v=spf1 include:spf.dezky.test ~all"}
		if got := lookup(t, "example.test", dnsclient.TypeTXT); !slices.Equal(got, want) {
			t.Errorf("TXT = %q, want %q", got, want)
		}
		if err := c.DeleteRecord(ctx, "example.test", rec); err != nil {
			t.Fatalf("DeleteRecord: %v", err)
		}
		want = []string{"dezky-verification=tok123", "v=spf1 include:spf.dezky.test ~all"}
		if got := lookup(t, "example.test", dnsclient.TypeTXT); !slices.Equal(got, want) {
			t.Errorf("TXT after delete = %q, want %q", got, want)
		}
	})

	t.Run("UpsertCNAMEReplaces", func(t *testing.T) {
		for _, target := range []string{"a.dezky.test", "b.dezky.test"} {
			err := c.UpsertRecord(ctx, "example.test", dnsclient.Record{Name: "mail.example.test", Type: dnsclient.TypeCNAME, Value: target, TTL: 60})
			if err != nil {
				t.Fatalf("UpsertRecord: %v", err)
			}
		}
		if got := lookup(t, "mail.example.test", dnsclient.TypeCNAME); !slices.Equal(got, []string{"b.dezky.test"}) {
			t.Errorf("CNAME = %q, want [b.dezky.test]", got)
		}
	})

	t.Run("ReplaceAndDeleteRRSet", func(t *testing.T) {
		recs := []dnsclient.Record{
			{Name: "example.test", Type: dnsclient.TypeMX, Value: "mx1.dezky.test", Priority: 10},
			{Name: "example.test", Type: dnsclient.TypeMX, Value: "mx2.dezky.test", Priority: 20},
		}
		if err := c.ReplaceRecords(ctx, "example.test", "example.test", dnsclient.TypeMX, recs); err != nil {
			t.Fatalf("ReplaceRecords: %v", err)
		}
		if got := lookup(t, "example.test", dnsclient.TypeMX); !slices.Equal(got, []string{"mx1.dezky.test", "mx2.dezky.test"}) {
			t.Errorf("MX = %q", got)
		}
		if err := c.DeleteRecord(ctx, "example.test", dnsclient.Record{Name: "example.test", Type: dnsclient.TypeMX}); err != nil {
			t.Fatalf("DeleteRecord RRset: %v", err)
		}
		if got := lookup(t, "example.test", dnsclient.TypeMX); len(got) != 0 {
			t.Errorf("MX after RRset delete = %q", got)
		}
		if got := lookup(t, "example.test", dnsclient.TypeTXT); len(got) != 2 {
			t.Errorf("TXT after MX delete = %q, want untouched", got)
		}
	})

	t.Run("AddressesAndLongTXT", func(t *testing.T) {
		long := strings.Repeat("k", 300) + `"quoted" \back`
		ups := []dnsclient.Record{
			{Name: "host.example.test", Type: dnsclient.TypeA, Value: "192.0.2.77"},
			{Name: "host.example.test", Type: dnsclient.TypeAAAA, Value: "2001:db8::77"},
			{Name: "s2._domainkey.example.test", Type: dnsclient.TypeTXT, Value: long},
		}
		for _, r := range ups {
			if err := c.UpsertRecord(ctx, "example.test", r); err != nil {
				t.Fatalf("UpsertRecord %s: %v", r.Type, err)
			}
		}
		if got := lookup(t, "host.example.test", dnsclient.TypeA); !slices.Equal(got, []string{"192.0.2.77"}) {
			t.Errorf("A = %q", got)
		}
		if got := lookup(t, "host.example.test", dnsclient.TypeAAAA); !slices.Equal(got, []string{"2001:db8::77"}) {
			t.Errorf("AAAA = %q", got)
		}
		if got := lookup(t, "s2._domainkey.example.test", dnsclient.TypeTXT); !slices.Equal(got, []string{long}) {
			t.Errorf("TXT = %q, want the long value back", got)
		}
		if n := len(srv.Records("s2._domainkey.example.test", dns.TypeTXT)[0].(*dns.TXT).Txt); n != 2 {
			t.Errorf("long TXT stored as %d strings, want 2", n)
		}
	})

	t.Run("PublishThenVerify", func(t *testing.T) {
		zone := "other.test"
		for _, r := range []dnsclient.Record{
			{Name: zone, Type: dnsclient.TypeMX, Value: "mx.dezky.test", Priority: 10},
			{Name: zone, Type: dnsclient.TypeTXT, Value: "v=spf1 include:spf.dezky.test -all"},
			{Name: "d1._domainkey." + zone, Type: dnsclient.TypeTXT, Value: "v=DKIM1; k=rsa; p=PUBKEY"},
			{Name: "_dmarc." + zone, Type: dnsclient.TypeTXT, Value: "v=DMARC1; p=reject"},
			{Name: "_dezky." + zone, Type: dnsclient.TypeTXT, Value: "token-9"},
		} {
			if err := c.UpsertRecord(ctx, zone, r); err != nil {
				t.Fatalf("UpsertRecord %s %s: %v", r.Name, r.Type, err)
			}
		}
		rep, err := c.VerifyMail(ctx, dnsclient.MailExpectation{
			Domain: zone, MXHost: "mx.dezky.test", SPFInclude: "spf.dezky.test", DKIMSelector: "d1",
			DKIMPublicKey: "PUBKEY", DMARCPolicy: "reject", OwnershipName: "_dezky." + zone, OwnershipToken: "token-9",
		})
		if err != nil {
			t.Fatalf("VerifyMail: %v", err)
		}
		if !rep.OK {
			t.Errorf("report after publishing = %+v, want OK", rep)
		}
	})

	t.Run("BadTSIGIsRefused", func(t *testing.T) {
		bad := mustClient(t, dnsclient.Config{Resolvers: []string{srv.Addr}, UpdateServer: srv.Addr,
			TSIG: &dnsclient.TSIGKey{Name: tsigName, Secret: "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw=="}})
		err := bad.UpsertRecord(ctx, "example.test", dnsclient.Record{Name: "evil.example.test", Type: dnsclient.TypeA, Value: "192.0.2.66"})
		wantKind(t, err, dnsclient.ErrRefused)
		if strings.Contains(err.Error(), tsigSecret) {
			t.Errorf("error %q contains the secret", err)
		}
		if got := srv.Records("evil.example.test", dns.TypeA); len(got) != 0 {
			t.Errorf("rejected update applied: %v", got)
		}
		unknownKey := mustClient(t, dnsclient.Config{Resolvers: []string{srv.Addr}, UpdateServer: srv.Addr,
			TSIG: &dnsclient.TSIGKey{Name: "other-key", Secret: tsigSecret}})
		err = unknownKey.UpsertRecord(ctx, "example.test", dnsclient.Record{Name: "evil.example.test", Type: dnsclient.TypeA, Value: "192.0.2.66"})
		wantKind(t, err, dnsclient.ErrRefused)
	})

	t.Run("ZoneNotServed", func(t *testing.T) {
		err := c.UpsertRecord(ctx, "foreign.test", dnsclient.Record{Name: "foreign.test", Type: dnsclient.TypeTXT, Value: "x"})
		wantKind(t, err, dnsclient.ErrRefused)
	})

	t.Run("InvalidRecords", func(t *testing.T) {
		for _, r := range []dnsclient.Record{
			{Name: "outside.test", Type: dnsclient.TypeTXT, Value: "x"},
			{Name: "a.example.test", Type: dnsclient.TypeA, Value: "2001:db8::1"},
			{Name: "a.example.test", Type: dnsclient.TypeAAAA, Value: "192.0.2.1"},
			{Name: "a.example.test", Type: dnsclient.TypeCNAME, Value: "bad target"},
			{Name: "a.example.test", Type: "SRV", Value: "x"},
			{Name: "a.example.test", Type: dnsclient.TypeTXT, Value: strings.Repeat("x", 4001)},
		} {
			err := c.UpsertRecord(ctx, "example.test", r)
			wantKind(t, err, dnsclient.ErrInvalid)
		}
		noUpdates := mustClient(t, dnsclient.Config{Resolvers: []string{srv.Addr}})
		err := noUpdates.UpsertRecord(ctx, "example.test", dnsclient.Record{Name: "example.test", Type: dnsclient.TypeTXT, Value: "x"})
		wantKind(t, err, dnsclient.ErrInvalid)
	})
}
