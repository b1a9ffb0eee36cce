package conformance

import (
	"slices"
	"strings"

	"github.com/dezky/platform/plugins/sdk"
)

// mailSuite checks p against the sdk.Mail contract.
func mailSuite(t T, p sdk.Mail, opts ...Option) {
	o := apply(opts)
	ctx := testContext(t)
	domain := o.prefix + ".example.test"
	address := "alice@" + domain

	t.Run("CreateDomain", func(t T) {
		d, err := p.CreateDomain(ctx, sdk.CreateDomainRequest{Name: domain})
		must(t, err, "CreateDomain")
		if d.Name != domain {
			t.Errorf("CreateDomain name = %q, want %q", d.Name, domain)
		}
		has := func(typ, contains string) bool {
			return slices.ContainsFunc(d.DNSRecords, func(r sdk.DNSRecord) bool {
				return strings.EqualFold(r.Type, typ) && strings.Contains(r.Name+" "+r.Value, contains)
			})
		}
		if !has("MX", "") || !has("TXT", "v=spf1") || !has("TXT", "_domainkey") {
			t.Errorf("CreateDomain records = %+v, want MX, SPF TXT and DKIM TXT (…_domainkey…)", d.DNSRecords)
		}
		_, err = p.CreateDomain(ctx, sdk.CreateDomainRequest{Name: domain})
		must(t, err, "CreateDomain again (idempotent)")
		_, err = p.CreateDomain(ctx, sdk.CreateDomainRequest{Name: "not a domain"})
		wantCode(t, err, sdk.CodeInvalid, "CreateDomain invalid name")
	})

	t.Run("GetAndListDomains", func(t T) {
		d, err := p.GetDomain(ctx, domain)
		must(t, err, "GetDomain")
		o.stateful(func() {
			if d.Name != domain {
				t.Errorf("GetDomain = %+v, want %q", d, domain)
			}
			all, err := p.ListDomains(ctx)
			must(t, err, "ListDomains")
			if !slices.ContainsFunc(all, func(x sdk.Domain) bool { return x.Name == domain }) {
				t.Errorf("ListDomains = %+v, want it to include %q", all, domain)
			}
		})
	})

	t.Run("SetDMARCPolicy", func(t T) {
		rec, err := p.SetDMARCPolicy(ctx, sdk.SetDMARCPolicyRequest{Domain: domain, Policy: sdk.DMARCReject, ReportAddress: "dmarc@" + domain})
		must(t, err, "SetDMARCPolicy")
		if !strings.HasPrefix(strings.TrimSuffix(rec.Name, "."), "_dmarc."+domain) || !strings.EqualFold(rec.Type, "TXT") || !strings.Contains(rec.Value, "p=reject") {
			t.Errorf("SetDMARCPolicy record = %+v, want TXT _dmarc.%s with p=reject", rec, domain)
		}
		o.stateful(func() {
			d, err := p.GetDomain(ctx, domain)
			must(t, err, "GetDomain")
			if d.DMARCPolicy != sdk.DMARCReject {
				t.Errorf("GetDomain DMARC policy = %q, want reject", d.DMARCPolicy)
			}
		})
		_, err = p.SetDMARCPolicy(ctx, sdk.SetDMARCPolicyRequest{Domain: domain, Policy: "bogus"})
		wantCode(t, err, sdk.CodeInvalid, "SetDMARCPolicy unknown policy")
	})

	t.Run("Mailbox", func(t T) {
		m, err := p.CreateMailbox(ctx, sdk.CreateMailboxRequest{Address: address, Name: "Alice", Password: "Correct-Horse-9", QuotaBytes: 1 << 30})
		must(t, err, "CreateMailbox")
		if !strings.EqualFold(m.Address, address) {
			t.Errorf("CreateMailbox address = %q, want %q", m.Address, address)
		}
		again, err := p.CreateMailbox(ctx, sdk.CreateMailboxRequest{Address: address, Name: "Alice", Password: "Correct-Horse-9"})
		must(t, err, "CreateMailbox again")
		o.stateful(func() {
			if again.ID != m.ID {
				t.Errorf("CreateMailbox again ID = %q, want %q", again.ID, m.ID)
			}
			_, err := p.CreateMailbox(ctx, sdk.CreateMailboxRequest{Address: "bob@missing-" + domain, Password: "Correct-Horse-9"})
			wantCode(t, err, sdk.CodeNotFound, "CreateMailbox in unknown domain")
		})
		_, err = p.CreateMailbox(ctx, sdk.CreateMailboxRequest{Address: "no-at-sign", Password: "Correct-Horse-9"})
		wantCode(t, err, sdk.CodeInvalid, "CreateMailbox invalid address")
	})

	t.Run("DeleteDomainInUse", func(t T) {
		if o.stateless {
			t.Skip("stateless upstream")
		}
		wantCode(t, p.DeleteDomain(ctx, domain), sdk.CodeInUse, "DeleteDomain with a mailbox")
	})

	t.Run("FreezeKeepsPassword", func(t T) {
		must(t, p.FreezeMailbox(ctx, address), "FreezeMailbox")
		o.stateful(func() {
			m, err := p.GetMailbox(ctx, address)
			must(t, err, "GetMailbox")
			if !m.Frozen {
				t.Errorf("GetMailbox after freeze: Frozen = false")
			}
		})
		must(t, p.UnfreezeMailbox(ctx, address), "UnfreezeMailbox")
		o.stateful(func() {
			m, err := p.GetMailbox(ctx, address)
			must(t, err, "GetMailbox")
			if m.Frozen {
				t.Errorf("GetMailbox after unfreeze: Frozen = true")
			}
		})
		must(t, p.SetMailboxPassword(ctx, address, "Correct-Horse-10"), "SetMailboxPassword")
		wantCode(t, p.SetMailboxPassword(ctx, address, ""), sdk.CodeInvalid, "SetMailboxPassword empty")
	})

	t.Run("Webhook", func(t T) {
		_, err := p.ParseMailWebhook(ctx, sdk.Webhook{Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`[{"id":"forged"}]`)})
		wantCode(t, err, sdk.CodeUnauthenticated, "ParseMailWebhook unsigned")
		if o.mailWebhook == nil {
			return
		}
		evs, err := p.ParseMailWebhook(ctx, *o.mailWebhook)
		must(t, err, "ParseMailWebhook signed")
		if len(evs) == 0 {
			t.Errorf("ParseMailWebhook signed: no events")
		}
		tampered := *o.mailWebhook
		tampered.Body = append(append([]byte(nil), tampered.Body...), ' ', ' ')
		_, err = p.ParseMailWebhook(ctx, tampered)
		wantCode(t, err, sdk.CodeUnauthenticated, "ParseMailWebhook tampered")
	})

	t.Run("Delete", func(t T) {
		must(t, p.DeleteMailbox(ctx, address), "DeleteMailbox")
		o.stateful(func() {
			_, err := p.GetMailbox(ctx, address)
			wantCode(t, err, sdk.CodeNotFound, "GetMailbox after delete")
			wantCode(t, p.DeleteMailbox(ctx, address), sdk.CodeNotFound, "DeleteMailbox again")
			wantCode(t, p.FreezeMailbox(ctx, address), sdk.CodeNotFound, "FreezeMailbox deleted")
			wantCode(t, p.SetMailboxPassword(ctx, address, "Correct-Horse-11"), sdk.CodeNotFound, "SetMailboxPassword deleted")
		})
		must(t, p.DeleteDomain(ctx, domain), "DeleteDomain")
		o.stateful(func() {
			_, err := p.GetDomain(ctx, domain)
			wantCode(t, err, sdk.CodeNotFound, "GetDomain after delete")
			wantCode(t, p.DeleteDomain(ctx, domain), sdk.CodeNotFound, "DeleteDomain again")
			_, err = p.SetDMARCPolicy(ctx, sdk.SetDMARCPolicyRequest{Domain: domain, Policy: sdk.DMARCNone})
			wantCode(t, err, sdk.CodeNotFound, "SetDMARCPolicy deleted domain")
		})
	})

	t.Run("ConcurrentEnsure", func(t T) {
		name := "par" + domain
		parallel(t, o.parallel, func(int) error {
			_, err := p.CreateDomain(ctx, sdk.CreateDomainRequest{Name: name})
			return err
		})
		o.stateful(func() {
			all, err := p.ListDomains(ctx)
			must(t, err, "ListDomains")
			n := 0
			for _, d := range all {
				if d.Name == name {
					n++
				}
			}
			if n != 1 {
				t.Errorf("after %d parallel CreateDomain(%s): listed %d times, want once", o.parallel, name, n)
			}
		})
		must(t, p.DeleteDomain(ctx, name), "DeleteDomain of the parallel domain")
	})
}
