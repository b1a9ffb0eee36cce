package graph_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/ingest"
	"github.com/dezky/platform/internal/testing/gobuild"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/dns/dnsserver"
	"github.com/dezky/platform/providers/dns/dnstest"
	"github.com/dezky/platform/providers/simtest"
	"github.com/dezky/platform/providers/stalwart/stalwartsim"
)

// mailWorld is a server whose mail and dns capabilities are the real
// stalwart and dns plugin processes, bound to the Stalwart simulator and
// a loopback authoritative DNS server. The server answers for "example."
// and "owner.test." but accepts dynamic updates for "newco.example." only:
// the rest refuses them, like zones hosted elsewhere. The periodic recheck runs every
// second.
type mailWorld struct {
	s   *testserver.Server
	sim *stalwartsim.Sim
	dns *dnsserver.Server
}

func startMailWorld(t *testing.T, dialect string) *mailWorld {
	t.Helper()
	dir := t.TempDir()
	for name, pkg := range map[string]string{
		"stalwart": "github.com/dezky/platform/providers/stalwart",
		"dns":      "github.com/dezky/platform/providers/dns",
	} {
		if err := gobuild.Build(t.Context(), pkg, filepath.Join(dir, host.BinaryPrefix+name)); err != nil {
			t.Fatal(err)
		}
	}
	// The simulator's webhooks reach the server through a forwarder: the
	// server's address is known only once it runs.
	var target atomic.Value
	target.Store("http://127.0.0.1:1")
	fwd := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		u, _ := url.Parse(target.Load().(string))
		r.SetURL(u)
	}}
	hookSrv := httptest.NewServer(fwd)
	t.Cleanup(hookSrv.Close)
	hook := hookSrv.URL
	const webhookKey = "mail-domains-webhook-key"
	sim, simSrv := simtest.NewStalwart(t, stalwartsim.Options{Token: "sim-token", WebhookURL: hook + ingest.MailWebhookPath, WebhookKey: webhookKey})
	secret := base64.StdEncoding.EncodeToString([]byte("tsig-secret-of-the-test-zone"))
	d := dnstest.Start(t, dnstest.Config{Zones: []string{"example.", "owner.test."}, UpdateZones: []string{"newco.example."},
		TSIGKeys: map[string]string{"dezky-update.": secret}})
	s := testserver.StartWith(t, dialect, func(c *app.ServeConfig) {
		c.PluginsDir = dir
		c.MailDomainRecheckInterval = time.Second
		c.Providers = app.ProvidersConfig{
			sdk.CapabilityMail: {Plugin: "stalwart", Settings: map[string]string{"url": simSrv.URL, "dkim_wait": "5s"},
				Secrets: map[string]string{"token": "sim-token", "webhook_key": webhookKey}},
			sdk.CapabilityDNS: {Plugin: "dns", Settings: map[string]string{"resolvers": d.Addr, "update_server": d.Addr, "tsig_key_name": "dezky-update."},
				Secrets: map[string]string{"tsig_secret": secret}},
		}
	})
	target.Store(s.URL)
	return &mailWorld{s: s, sim: sim, dns: d}
}

type recordCheck struct {
	Purpose, Type, Name, Expected, Status string
	Found                                 []string
}

type mailDomain struct {
	Name, Status                string
	Primary, ManagedDns         bool
	Message, DmarcPolicy        *string
	DmarcReportEmail, CheckedAt *string
	VerifiedAt                  *string
	Records                     []recordCheck
}

const mailDomainFields = `name status primary managedDns message dmarcPolicy dmarcReportEmail checkedAt verifiedAt records { purpose type name expected found status }`

// mutate runs one mail domain mutation and returns the domain or the
// error code.
func (w *mailWorld) mutate(t *testing.T, as, field, args string) (*mailDomain, string, string) {
	t.Helper()
	rsp := w.s.Query(as, fmt.Sprintf(`mutation { %s(%s) { %s } }`, field, args, mailDomainFields), nil)
	if code := rsp.Code(); code != "" {
		return nil, code, rsp.Errors[0].Message
	}
	var out map[string]*mailDomain
	rsp.Decode(t, &out)
	return out[field], "", ""
}

func (w *mailWorld) domains(t *testing.T, as, slug string) map[string]*mailDomain {
	t.Helper()
	var out struct {
		Tenant struct {
			Domains     []string
			MailDomains []*mailDomain
		}
	}
	w.s.Query(as, `query($s: String!) { tenant(slug: $s) { mailDomains { `+mailDomainFields+` } } }`, map[string]any{"s": slug}).Decode(t, &out)
	m := map[string]*mailDomain{}
	for _, d := range out.Tenant.MailDomains {
		m[d.Name] = d
	}
	return m
}

// publish adds the domain's expected records to the DNS server, as the
// domain's owner would at its DNS host.
func (w *mailWorld) publish(t *testing.T, d *mailDomain, purposes ...string) {
	t.Helper()
	for _, r := range d.Records {
		if len(purposes) > 0 && !strings.Contains(strings.Join(purposes, ","), r.Purpose) {
			continue
		}
		v := r.Expected
		if r.Type == "TXT" {
			v = `"` + v + `"`
		}
		if err := w.dns.Add(fmt.Sprintf("%s. 300 IN %s %s", r.Name, r.Type, v)); err != nil {
			t.Fatal(err)
		}
	}
}

func statuses(d *mailDomain) map[string]string {
	m := map[string]string{}
	for _, r := range d.Records {
		m[r.Purpose] = r.Status
	}
	return m
}

const allPurposes = "DKIM,DMARC,MX,OWNERSHIP,SPF"

func purposes(d *mailDomain, status string) string {
	var ps []string
	for p, s := range statuses(d) {
		if status == "" || s == status {
			ps = append(ps, p)
		}
	}
	sort.Strings(ps)
	return strings.Join(ps, ",")
}

// TestMailDomainsEndToEnd drives the mail domain lifecycle through the
// real stalwart and dns plugins: validation, managed and unmanaged DNS,
// ownership across tenants, DMARC, primary, guarded removal, the periodic
// recheck and the attribution of mail events by verified domain.
func TestMailDomainsEndToEnd(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			w := startMailWorld(t, dialect)
			ctx := context.Background()
			mail, err := w.s.Plugins.Mail()
			if err != nil {
				t.Fatal(err)
			}

			// Validation and access.
			for _, bad := range []string{`"gmail.com"`, `"Mail.GMX.de"`, `"web.de"`, `"proton.me"`, `"not a domain"`, `"localhost"`} {
				if _, code, _ := w.mutate(t, "admin:acme", "addMailDomain", `tenantSlug: "acme", name: `+bad); code != "BAD_USER_INPUT" {
					t.Fatalf("addMailDomain(%s): code %q, want BAD_USER_INPUT", bad, code)
				}
			}
			if _, code, _ := w.mutate(t, "member:acme", "addMailDomain", `tenantSlug: "acme", name: "member.example"`); code != "FORBIDDEN" {
				t.Fatalf("member adds a domain: code %q, want FORBIDDEN", code)
			}

			// Managed DNS: the records are published and verified at once.
			start := time.Now()
			d, code, msg := w.mutate(t, "admin:acme", "addMailDomain", `tenantSlug: "acme", name: "Newco.Example."`)
			if code != "" {
				t.Fatalf("add managed domain: %s %s", code, msg)
			}
			t.Logf("managed domain add → %s in %v", d.Status, time.Since(start))
			if d.Name != "newco.example" || d.Status != "VERIFIED" || !d.ManagedDns || purposes(d, "OK") != allPurposes || d.VerifiedAt == nil {
				t.Fatalf("managed domain = %+v (message %v)", d, deref(d.Message))
			}
			for _, r := range d.Records {
				if r.Purpose == "OWNERSHIP" && (r.Name != "_dezky-challenge.newco.example" || !strings.HasPrefix(r.Expected, "dezky-domain-verification=")) {
					t.Fatalf("ownership record = %+v", r)
				}
			}

			// An Idempotency-Key replay returns the first answer and adds
			// nothing (not CONFLICT for a domain already added).
			replay := testserver.Request{Token: w.s.Token("admin:acme"), Headers: map[string]string{"Idempotency-Key": "add-again-1"},
				Query: `mutation { addMailDomain(tenantSlug: "acme", name: "again.owner.test") { name status records { expected } } }`}
			first, second := w.s.Do(replay), w.s.Do(replay)
			if first.Code() != "" || second.Code() != "" || string(first.Data) != string(second.Data) {
				t.Fatalf("idempotent replay: %s / %s", first.Body, second.Body)
			}
			var copies int
			if err := w.s.DB.SQL.QueryRow(`SELECT COUNT(*) FROM mail_domains WHERE name = 'again.owner.test'`).Scan(&copies); err != nil || copies != 1 {
				t.Fatalf("replayed add: %d rows, %v", copies, err)
			}
			if _, code, _ := w.mutate(t, "admin:acme", "removeMailDomain", `tenantSlug: "acme", name: "again.owner.test"`); code != "" {
				t.Fatalf("remove again.owner.test: %q", code)
			}

			// Unmanaged: PENDING with every record missing until published.
			d, code, msg = w.mutate(t, "partner:northwind", "addMailDomain", `tenantSlug: "acme", name: "shop.owner.test"`)
			if code != "" {
				t.Fatalf("add unmanaged domain: %s %s", code, msg)
			}
			if d.Status != "PENDING" || d.ManagedDns || purposes(d, "MISSING") != allPurposes || d.Message == nil {
				t.Fatalf("unmanaged domain = %+v", d)
			}
			for _, r := range d.Records {
				if len(r.Found) != 0 || r.Expected == "" {
					t.Fatalf("unpublished record = %+v", r)
				}
			}
			if _, code, _ := w.mutate(t, "admin:acme", "addMailDomain", `tenantSlug: "acme", name: "shop.owner.test"`); code != "CONFLICT" {
				t.Fatalf("adding it twice: %q", code)
			}
			w.publish(t, d, "MX", "SPF")
			d, _, _ = w.mutate(t, "admin:acme", "verifyMailDomain", `tenantSlug: "acme", name: "shop.owner.test"`)
			if d.Status != "PENDING" || statuses(d)["MX"] != "OK" || statuses(d)["OWNERSHIP"] != "MISSING" || d.CheckedAt == nil {
				t.Fatalf("without the ownership record = %+v", d)
			}
			w.publish(t, d)
			d, _, _ = w.mutate(t, "admin:acme", "verifyMailDomain", `tenantSlug: "acme", name: "shop.owner.test"`)
			if d.Status != "VERIFIED" || purposes(d, "OK") != allPurposes {
				t.Fatalf("published domain = %+v", d)
			}
			// A wrong SPF record is a mismatch, listed with what was found.
			w.dns.Delete("shop.owner.test.", dns.TypeTXT)
			_ = w.dns.Add(`shop.owner.test. 300 IN TXT "v=spf1 include:elsewhere.test -all"`, `shop.owner.test. 300 IN TXT "site-verification=1"`)
			d, _, _ = w.mutate(t, "admin:acme", "verifyMailDomain", `tenantSlug: "acme", name: "shop.owner.test"`)
			for _, r := range d.Records {
				if r.Purpose == "SPF" && (r.Status != "MISMATCH" || strings.Join(r.Found, "|") != "v=spf1 include:elsewhere.test -all") {
					t.Fatalf("wrong SPF = %+v", r)
				}
			}
			if d.Status != "VERIFIED" {
				t.Fatalf("SPF alone changes the status: %+v", d)
			}
			w.publish(t, d, "SPF")

			// Ownership across tenants: a verified name is CONFLICT for
			// others, without naming the owner.
			for _, as := range []string{"admin:globex", "operator"} {
				_, code, msg := w.mutate(t, as, "addMailDomain", `tenantSlug: "globex", name: "SHOP.owner.test"`)
				if code != "CONFLICT" || strings.Contains(strings.ToLower(msg), "acme") {
					t.Fatalf("%s adds acme's verified domain to globex: %q %q", as, code, msg)
				}
			}
			// Pending claims block nobody; the first to verify wins.
			a, code, _ := w.mutate(t, "admin:acme", "addMailDomain", `tenantSlug: "acme", name: "race.owner.test"`)
			g, code2, _ := w.mutate(t, "admin:globex", "addMailDomain", `tenantSlug: "globex", name: "race.owner.test"`)
			if code != "" || code2 != "" || a.Status != "PENDING" || g.Status != "PENDING" {
				t.Fatalf("two pending claims: %q %q %+v %+v", code, code2, a, g)
			}
			// (The periodic recheck may verify globex's claim first; either
			// way globex wins, as acme's ownership record comes later.)
			w.publish(t, g, "OWNERSHIP", "MX")
			if g, _, _ = w.mutate(t, "admin:globex", "verifyMailDomain", `tenantSlug: "globex", name: "race.owner.test"`); g.Status != "VERIFIED" {
				t.Fatalf("first verification = %+v (message %s)", g, deref(g.Message))
			}
			w.publish(t, a)
			a, _, _ = w.mutate(t, "admin:acme", "verifyMailDomain", `tenantSlug: "acme", name: "race.owner.test"`)
			if a.Status != "PENDING" || a.Message == nil || !strings.Contains(*a.Message, "another tenant verified") {
				t.Fatalf("second verification = %+v", a)
			}
			if l := w.domains(t, "admin:acme", "acme")["race.owner.test"]; l == nil || l.Message == nil || !strings.Contains(*l.Message, "another tenant verified") {
				t.Fatalf("the losing claim is not told: %+v", l)
			}

			// DMARC reaches the provider and, the DNS being managed, the zone.
			if _, code, _ := w.mutate(t, "admin:acme", "setMailDomainDmarc", `tenantSlug: "acme", name: "newco.example", policy: QUARANTINE, reportEmail: "not an address"`); code != "BAD_USER_INPUT" {
				t.Fatalf("bad report address: %q", code)
			}
			d, code, msg = w.mutate(t, "admin:acme", "setMailDomainDmarc", `tenantSlug: "acme", name: "newco.example", policy: QUARANTINE, reportEmail: "dmarc@newco.example"`)
			if code != "" || d.DmarcPolicy == nil || *d.DmarcPolicy != "QUARANTINE" || statuses(d)["DMARC"] != "OK" {
				t.Fatalf("set DMARC: %s %s %+v", code, msg, d)
			}
			up, err := mail.GetDomain(ctx, "newco.example")
			if err != nil || up.DMARCPolicy != sdk.DMARCQuarantine {
				t.Fatalf("provider's domain = %+v, %v", up, err)
			}
			for _, r := range d.Records {
				if r.Purpose == "DMARC" && (!strings.Contains(r.Expected, "p=quarantine") || !strings.Contains(r.Expected, "mailto:dmarc@newco.example")) {
					t.Fatalf("DMARC record = %+v", r)
				}
			}

			// Primary: only a verified domain.
			if _, code, _ := w.mutate(t, "admin:acme", "setPrimaryMailDomain", `tenantSlug: "acme", name: "race.owner.test"`); code != "CONFLICT" {
				t.Fatalf("pending domain made primary: %q", code)
			}
			if d, code, _ = w.mutate(t, "admin:acme", "setPrimaryMailDomain", `tenantSlug: "acme", name: "shop.owner.test"`); code != "" || !d.Primary {
				t.Fatalf("set primary: %q %+v", code, d)
			}
			list := w.domains(t, "admin:acme", "acme")
			primaries := 0
			for _, x := range list {
				if x.Primary {
					primaries++
				}
			}
			if primaries != 1 || !list["shop.owner.test"].Primary {
				t.Fatalf("primaries after the change: %+v", list)
			}

			// Removal is refused while a mailbox or an alias uses the domain.
			if _, err := mail.CreateMailbox(ctx, sdk.CreateMailboxRequest{Address: "jane@shop.owner.test", Name: "Jane", Password: "s3cret-Pa55"}); err != nil {
				t.Fatal(err)
			}
			if _, err := mail.CreateMailbox(ctx, sdk.CreateMailboxRequest{Address: "bob@shop.owner.test", Name: "Bob", Password: "s3cret-Pa55", Aliases: []string{"info@newco.example"}}); err != nil {
				t.Fatal(err)
			}
			// (The periodic recheck writes in the background, so the check
			// that nothing changed looks at what a removal would change.)
			for _, name := range []string{"shop.owner.test", "newco.example"} {
				_, code, msg := w.mutate(t, "admin:acme", "removeMailDomain", `tenantSlug: "acme", name: "`+name+`"`)
				if code != "CONFLICT" || !strings.Contains(msg, "in use") {
					t.Fatalf("remove %s in use: %q %q", name, code, msg)
				}
				if w.domains(t, "admin:acme", "acme")[name] == nil {
					t.Fatalf("refused removal of %s removed it", name)
				}
				if _, err := mail.GetDomain(ctx, name); err != nil {
					t.Fatalf("refused removal of %s at the provider: %v", name, err)
				}
			}
			var removed int
			if err := w.s.DB.SQL.QueryRow(`SELECT COUNT(*) FROM audit_events WHERE action = 'mail_domain.removed'`).Scan(&removed); err != nil || removed != 1 {
				t.Fatalf("removal audit events = %d, %v; want only again.owner.test's", removed, err)
			}
			for _, a := range []string{"jane@shop.owner.test", "bob@shop.owner.test"} {
				if err := mail.DeleteMailbox(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			if _, code, msg := w.mutate(t, "admin:acme", "removeMailDomain", `tenantSlug: "acme", name: "shop.owner.test"`); code != "" {
				t.Fatalf("remove unused domain: %s %s", code, msg)
			}
			if _, err := mail.GetDomain(ctx, "shop.owner.test"); !sdk.IsNotFound(err) {
				t.Fatalf("removed domain at the provider: %v", err)
			}
			list = w.domains(t, "admin:acme", "acme")
			if list["shop.owner.test"] != nil {
				t.Fatalf("removed domain still listed: %+v", list)
			}

			// Mail events are attributed by verified domain only.
			w.sim.Emit("auth.failed", map[string]any{"accountName": "eve@newco.example"})
			w.sim.Emit("auth.failed", map[string]any{"accountName": "mallory@race.owner.test"})
			w.sim.Emit("auth.failed", map[string]any{"accountName": "trudy@acme.example"})
			if _, err := w.sim.FlushWebhooks(ctx); err != nil {
				t.Fatal(err)
			}
			evs, err := w.s.DB.Client.AuditEvent.Query().Where(auditevent.Action("stalwart.auth_failed")).All(viewer.SystemContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range evs {
				got[e.ActorEmail] = e.TenantSlug
			}
			if got["eve@newco.example"] != "acme" || got["mallory@race.owner.test"] != "globex" || got["trudy@acme.example"] != "" || len(got) != 3 {
				t.Fatalf("attribution = %v", got)
			}

			// The periodic recheck turns a verified domain whose MX record
			// disappeared FAILING, and the tenant's attention count shows it.
			w.dns.Delete("newco.example.", dns.TypeMX)
			deadline := time.Now().Add(time.Minute)
			for {
				d := w.domains(t, "admin:acme", "acme")["newco.example"]
				if d.Status == "FAILING" {
					if statuses(d)["MX"] != "MISSING" || d.VerifiedAt == nil {
						t.Fatalf("failing domain = %+v", d)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("newco.example still %s after its MX record was removed", d.Status)
				}
				time.Sleep(100 * time.Millisecond)
			}
			var att struct{ TenantAttention struct{ MailDomains int } }
			w.s.Query("member:acme", `{ tenantAttention(tenantSlug: "acme") { mailDomains } }`, nil).Decode(t, &att)
			// newco.example FAILING, race.owner.test and acme.example PENDING.
			if att.TenantAttention.MailDomains != 3 {
				t.Fatalf("attention = %d, want 3", att.TenantAttention.MailDomains)
			}
			// Still owned while failing.
			if _, code, _ := w.mutate(t, "admin:globex", "addMailDomain", `tenantSlug: "globex", name: "newco.example"`); code != "CONFLICT" {
				t.Fatalf("a failing domain is free to add: %q", code)
			}
			var n int
			if err := w.s.DB.SQL.QueryRow(`SELECT COUNT(*) FROM audit_events WHERE action = 'mail_domain.status_changed' AND actor_type = 'system'`).Scan(&n); err != nil || n == 0 {
				t.Fatalf("recheck audit events = %d, %v", n, err)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
