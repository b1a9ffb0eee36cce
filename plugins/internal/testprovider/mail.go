package testprovider

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dezky/platform/plugins/sdk"
)

func validDomain(name string) bool {
	return name != "" && strings.Contains(name, ".") && !strings.ContainsAny(name, " @/")
}

func splitAddress(addr string) (string, bool) {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || !validDomain(domain) {
		return "", false
	}
	return strings.ToLower(domain), true
}

// CreateDomain implements sdk.Mail.
func (p *Provider) CreateDomain(_ context.Context, req sdk.CreateDomainRequest) (sdk.Domain, error) {
	name := strings.ToLower(strings.TrimSuffix(req.Name, "."))
	if !validDomain(name) {
		return sdk.Domain{}, sdk.Invalid("invalid domain name %q", req.Name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.domains[name]; ok {
		return copyDomain(d), nil
	}
	selector := req.DKIMSelector
	if selector == "" {
		selector = "dezky"
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return sdk.Domain{}, fmt.Errorf("generate dkim key for %s: %w", name, err)
	}
	d := &sdk.Domain{Name: name, DMARCPolicy: sdk.DMARCNone, DNSRecords: []sdk.DNSRecord{
		{Name: name, Type: "MX", Value: "10 mail." + name + ".", TTL: 3600},
		{Name: name, Type: "TXT", Value: "v=spf1 mx -all", TTL: 3600},
		{Name: selector + "._domainkey." + name, Type: "TXT", Value: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), TTL: 3600},
		{Name: "_dmarc." + name, Type: "TXT", Value: "v=DMARC1; p=none", TTL: 3600},
	}}
	p.domains[name] = d
	return copyDomain(d), nil
}

func copyDomain(d *sdk.Domain) sdk.Domain {
	out := *d
	out.DNSRecords = slices.Clone(d.DNSRecords)
	return out
}

// ListDomains implements sdk.Mail.
func (p *Provider) ListDomains(context.Context) ([]sdk.Domain, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]sdk.Domain, 0, len(p.domains))
	for _, d := range p.domains {
		out = append(out, copyDomain(d))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetDomain implements sdk.Mail.
func (p *Provider) GetDomain(_ context.Context, name string) (sdk.Domain, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.domains[strings.ToLower(name)]
	if !ok {
		return sdk.Domain{}, sdk.NotFound("domain %q not found", name)
	}
	return copyDomain(d), nil
}

// DeleteDomain implements sdk.Mail.
func (p *Provider) DeleteDomain(_ context.Context, name string) error {
	name = strings.ToLower(name)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.domains[name]; !ok {
		return sdk.NotFound("domain %q not found", name)
	}
	n := 0
	for addr := range p.mailboxes {
		if d, _ := splitAddress(addr); d == name {
			n++
		}
	}
	if n > 0 {
		return sdk.InUse("domain %q has %d mailboxes", name, n)
	}
	delete(p.domains, name)
	return nil
}

// SetDMARCPolicy implements sdk.Mail.
func (p *Provider) SetDMARCPolicy(_ context.Context, req sdk.SetDMARCPolicyRequest) (sdk.DNSRecord, error) {
	switch req.Policy {
	case sdk.DMARCNone, sdk.DMARCQuarantine, sdk.DMARCReject:
	default:
		return sdk.DNSRecord{}, sdk.Invalid("unknown DMARC policy %q", req.Policy)
	}
	if req.Percent < 0 || req.Percent > 100 {
		return sdk.DNSRecord{}, sdk.Invalid("DMARC percent %d out of range", req.Percent)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.domains[strings.ToLower(req.Domain)]
	if !ok {
		return sdk.DNSRecord{}, sdk.NotFound("domain %q not found", req.Domain)
	}
	d.DMARCPolicy = req.Policy
	value := "v=DMARC1; p=" + string(req.Policy)
	if req.Percent > 0 && req.Percent < 100 {
		value += fmt.Sprintf("; pct=%d", req.Percent)
	}
	if req.ReportAddress != "" {
		value += "; rua=mailto:" + req.ReportAddress
	}
	rec := sdk.DNSRecord{Name: "_dmarc." + d.Name, Type: "TXT", Value: value, TTL: 3600}
	for i, r := range d.DNSRecords {
		if r.Name == rec.Name && r.Type == "TXT" {
			d.DNSRecords[i] = rec
		}
	}
	return rec, nil
}

func (p *Provider) mailboxLocked(address string) (*sdk.Mailbox, error) {
	m, ok := p.mailboxes[strings.ToLower(address)]
	if !ok {
		return nil, sdk.NotFound("mailbox %q not found", address)
	}
	return m, nil
}

func copyMailbox(m *sdk.Mailbox) sdk.Mailbox {
	out := *m
	out.Aliases = slices.Clone(m.Aliases)
	return out
}

// CreateMailbox implements sdk.Mail.
func (p *Provider) CreateMailbox(_ context.Context, req sdk.CreateMailboxRequest) (sdk.Mailbox, error) {
	addr := strings.ToLower(req.Address)
	domain, ok := splitAddress(addr)
	if !ok {
		return sdk.Mailbox{}, sdk.Invalid("invalid address %q", req.Address)
	}
	if req.QuotaBytes < 0 {
		return sdk.Mailbox{}, sdk.Invalid("negative quota")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if m, ok := p.mailboxes[addr]; ok {
		return copyMailbox(m), nil
	}
	if _, ok := p.domains[domain]; !ok {
		return sdk.Mailbox{}, sdk.NotFound("domain %q not found", domain)
	}
	m := &sdk.Mailbox{ID: p.nextID("mbx"), Address: addr, Name: req.Name, QuotaBytes: req.QuotaBytes, Aliases: slices.Clone(req.Aliases)}
	p.mailboxes[addr] = m
	p.passwords[m.ID] = req.Password
	return copyMailbox(m), nil
}

// GetMailbox implements sdk.Mail.
func (p *Provider) GetMailbox(_ context.Context, address string) (sdk.Mailbox, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, err := p.mailboxLocked(address)
	if err != nil {
		return sdk.Mailbox{}, err
	}
	return copyMailbox(m), nil
}

// DeleteMailbox implements sdk.Mail.
func (p *Provider) DeleteMailbox(_ context.Context, address string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, err := p.mailboxLocked(address)
	if err != nil {
		return err
	}
	delete(p.mailboxes, m.Address)
	delete(p.passwords, m.ID)
	return nil
}

func (p *Provider) setFrozen(address string, frozen bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, err := p.mailboxLocked(address)
	if err != nil {
		return err
	}
	m.Frozen = frozen
	return nil
}

// FreezeMailbox implements sdk.Mail; the password is kept.
func (p *Provider) FreezeMailbox(_ context.Context, address string) error {
	return p.setFrozen(address, true)
}

// UnfreezeMailbox implements sdk.Mail.
func (p *Provider) UnfreezeMailbox(_ context.Context, address string) error {
	return p.setFrozen(address, false)
}

// SetMailboxPassword implements sdk.Mail.
func (p *Provider) SetMailboxPassword(_ context.Context, address, password string) error {
	if password == "" {
		return sdk.Invalid("password is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m, err := p.mailboxLocked(address)
	if err != nil {
		return err
	}
	p.passwords[m.ID] = password
	return nil
}

// ParseMailWebhook implements sdk.Mail.
func (p *Provider) ParseMailWebhook(_ context.Context, hook sdk.Webhook) ([]sdk.MailEvent, error) {
	if err := p.verify(hook); err != nil {
		return nil, err
	}
	evs, err := decodeEvents(hook.Body)
	if err != nil {
		return nil, err
	}
	out := make([]sdk.MailEvent, 0, len(evs))
	for _, e := range evs {
		out = append(out, sdk.MailEvent{ID: e.ID, Type: e.Type, Time: e.Time, Address: e.Subject, Domain: e.Domain, Detail: e.Data})
	}
	return out, nil
}
