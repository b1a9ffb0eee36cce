// Command dezky-provider-stalwart is the Dezky mail provider plugin. It serves
// sdk.Mail against Stalwart 0.16 JMAP management through
// providers/stalwart/stalwartapi.
//
// Settings: "url" (required; the Stalwart HTTP listener that serves /jmap),
// "dkim_wait" (optional Go duration, default 10s: how long CreateDomain waits for
// the asynchronously generated DKIM key before returning the records it has).
// Secrets: "token" (API key, Bearer) or "username" + "password" (Basic), and
// "webhook_key" (the webhook signature key used by ParseMailWebhook).
//
// DMARC: Stalwart has no DMARC policy setting (the policy is DNS the domain owner
// publishes). SetDMARCPolicy stores the chosen record in the domain's description
// as "dezky-dmarc: <record>" — the description of Dezky-managed domains belongs to
// this provider — and GetDomain substitutes it for the p=reject record Stalwart
// proposes in its zone file. CreateDomainRequest.DKIMSelector is ignored:
// Stalwart's automatic DKIM management chooses and rotates selectors itself.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/internal/upstream"
	"github.com/dezky/platform/providers/stalwart/stalwartapi"
)

const (
	providerName    = "stalwart"
	providerVersion = "1.0.0"
	dmarcPrefix     = "dezky-dmarc: "
)

func main() { sdk.Serve(&provider{}) }

type provider struct{ conf sdk.Configured[config] }

// config is what Configure sets up: the API client and the settings.
type config struct {
	*stalwartapi.Client
	webhookKey []byte
	dkimWait   time.Duration
}

var (
	_ sdk.Provider = (*provider)(nil)
	_ sdk.Mail     = (*provider)(nil)
)

func (p *provider) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: providerName, Version: providerVersion,
		Capabilities: []sdk.Capability{sdk.CapabilityMail}, ProtocolVersion: sdk.ProtocolVersion}, nil
}

func (p *provider) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	if req.Settings["url"] == "" {
		return sdk.Invalid("setting url is required")
	}
	cred := stalwartapi.Credentials{Token: req.Secrets["token"], Username: req.Secrets["username"], Password: req.Secrets["password"]}
	if cred.Token == "" && cred.Username == "" {
		return sdk.Invalid("secret token or username/password is required")
	}
	wait := 10 * time.Second
	if s := req.Settings["dkim_wait"]; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return sdk.Invalid("setting dkim_wait %q is not a duration", s)
		}
		wait = d
	}
	c, err := stalwartapi.New(req.Settings["url"], cred, stalwartapi.WithLogger(sdk.Logger()))
	if err != nil {
		return sdk.Errorf(sdk.CodeInvalid, "configure: %w", err)
	}
	p.conf.Set(config{Client: c, dkimWait: wait, webhookKey: []byte(req.Secrets["webhook_key"])})
	return nil
}

func (p *provider) Health(ctx context.Context) (sdk.HealthStatus, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.HealthStatus{Healthy: false, Message: "not configured"}, nil
	}
	s, err := c.Session(ctx)
	if err != nil {
		return sdk.HealthStatus{Healthy: false, Message: err.Error()}, nil
	}
	return sdk.HealthStatus{Healthy: true, Message: "stalwart JMAP management as " + s.Username}, nil
}

// toSDK maps client errors onto SDK error codes.
func toSDK(err error) error { return upstream.ToSDK(err) }

func toRecords(recs []stalwartapi.DNSRecord) []sdk.DNSRecord {
	out := make([]sdk.DNSRecord, 0, len(recs))
	for _, r := range recs {
		out = append(out, sdk.DNSRecord{Name: r.Name, Type: r.Type, Value: r.Value, TTL: r.TTL})
	}
	return out
}

// storedDMARC returns the policy stored by SetDMARCPolicy, if any.
func storedDMARC(description string) (stalwartapi.DMARCPolicy, bool) {
	rec, ok := strings.CutPrefix(description, dmarcPrefix)
	if !ok {
		return stalwartapi.DMARCPolicy{}, false
	}
	pol, err := stalwartapi.ParseDMARC(rec)
	return pol, err == nil
}

// toDomain builds the SDK view: the records Stalwart proposes with the stored
// DMARC record substituted.
func toDomain(d stalwartapi.Domain) sdk.Domain {
	recs := d.Records
	out := sdk.Domain{Name: d.Name}
	if pol, ok := storedDMARC(d.Description); ok {
		if withDMARC, err := stalwartapi.ApplyDMARC(recs, d.Name, pol); err == nil {
			recs = withDMARC
		}
		out.DMARCPolicy = sdk.DMARCPolicy(pol.Policy)
	} else {
		for _, r := range recs {
			if r.Type == "TXT" && r.Name == "_dmarc."+d.Name {
				if pol, err := stalwartapi.ParseDMARC(r.Value); err == nil {
					out.DMARCPolicy = sdk.DMARCPolicy(pol.Policy)
				}
			}
		}
	}
	out.DNSRecords = toRecords(recs)
	return out
}

func (p *provider) CreateDomain(ctx context.Context, req sdk.CreateDomainRequest) (sdk.Domain, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Domain{}, err
	}
	if _, err := c.CreateDomain(ctx, req.Name, ""); err != nil && !errors.Is(err, stalwartapi.ErrConflict) {
		return sdk.Domain{}, toSDK(err)
	}
	deadline := time.Now().Add(c.dkimWait)
	delay := 100 * time.Millisecond
	for {
		d, err := c.GetDomain(ctx, req.Name)
		if err != nil {
			return sdk.Domain{}, toSDK(err)
		}
		if !d.DKIMPending || !time.Now().Add(delay).Before(deadline) {
			if d.DKIMPending {
				sdk.Logger().WarnContext(ctx, "stalwart DKIM key not generated yet; returning records without it", "domain", d.Name)
			}
			return toDomain(d), nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return sdk.Domain{}, sdk.Errorf(sdk.CodeUnavailable, "waiting for DKIM key: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

func (p *provider) ListDomains(ctx context.Context) ([]sdk.Domain, error) {
	c, err := p.conf.Get()
	if err != nil {
		return nil, err
	}
	list, err := c.ListDomains(ctx)
	if err != nil {
		return nil, toSDK(err)
	}
	out := make([]sdk.Domain, 0, len(list))
	for _, d := range list {
		out = append(out, toDomain(d))
	}
	return out, nil
}

func (p *provider) GetDomain(ctx context.Context, name string) (sdk.Domain, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Domain{}, err
	}
	d, err := c.GetDomain(ctx, name)
	if err != nil {
		return sdk.Domain{}, toSDK(err)
	}
	return toDomain(d), nil
}

func (p *provider) DeleteDomain(ctx context.Context, name string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	return toSDK(c.DeleteDomain(ctx, name))
}

func (p *provider) SetDMARCPolicy(ctx context.Context, req sdk.SetDMARCPolicyRequest) (sdk.DNSRecord, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.DNSRecord{}, err
	}
	pol := stalwartapi.DMARCPolicy{Policy: string(req.Policy), Percent: req.Percent}
	if req.ReportAddress != "" {
		pol.RUA = []string{req.ReportAddress}
	}
	val, err := stalwartapi.BuildDMARC(pol)
	if err != nil {
		return sdk.DNSRecord{}, sdk.Errorf(sdk.CodeInvalid, "%w", err)
	}
	if err := c.SetDomainDescription(ctx, req.Domain, dmarcPrefix+val); err != nil {
		return sdk.DNSRecord{}, toSDK(err)
	}
	return sdk.DNSRecord{Name: "_dmarc." + stalwartapi.NormalizeDomain(req.Domain), Type: "TXT", Value: val, TTL: 3600}, nil
}

func toMailbox(m stalwartapi.Mailbox) sdk.Mailbox {
	return sdk.Mailbox{ID: m.ID, Address: m.Address, Name: m.DisplayName, QuotaBytes: m.QuotaBytes, Frozen: m.Frozen,
		Aliases: append([]string(nil), m.Aliases...)}
}

func (p *provider) CreateMailbox(ctx context.Context, req sdk.CreateMailboxRequest) (sdk.Mailbox, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Mailbox{}, err
	}
	if _, _, ok := stalwartapi.SplitAddress(req.Address); !ok {
		return sdk.Mailbox{}, sdk.Invalid("invalid mailbox address")
	}
	if req.QuotaBytes < 0 {
		return sdk.Mailbox{}, sdk.Invalid("negative quota")
	}
	if m, err := c.FindMailbox(ctx, req.Address); err == nil {
		return toMailbox(m), nil
	} else if !errors.Is(err, stalwartapi.ErrNotFound) {
		return sdk.Mailbox{}, toSDK(err)
	}
	m, err := c.CreateMailbox(ctx, stalwartapi.MailboxSpec{Address: req.Address, Password: req.Password,
		DisplayName: req.Name, QuotaBytes: req.QuotaBytes, Aliases: req.Aliases})
	if errors.Is(err, stalwartapi.ErrConflict) {
		m, err = c.FindMailbox(ctx, req.Address)
	}
	if err != nil {
		return sdk.Mailbox{}, toSDK(err)
	}
	return toMailbox(m), nil
}

func (p *provider) GetMailbox(ctx context.Context, address string) (sdk.Mailbox, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Mailbox{}, err
	}
	m, err := c.FindMailbox(ctx, address)
	if err != nil {
		return sdk.Mailbox{}, toSDK(err)
	}
	return toMailbox(m), nil
}

func (p *provider) DeleteMailbox(ctx context.Context, address string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	return toSDK(c.DeleteMailbox(ctx, address))
}

func (p *provider) FreezeMailbox(ctx context.Context, address string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	return toSDK(c.FreezeMailbox(ctx, address))
}

func (p *provider) UnfreezeMailbox(ctx context.Context, address string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	return toSDK(c.UnfreezeMailbox(ctx, address))
}

func (p *provider) SetMailboxPassword(ctx context.Context, address, password string) error {
	if password == "" {
		return sdk.Invalid("password is required")
	}
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	return toSDK(c.SetMailboxPassword(ctx, address, password))
}

func (p *provider) ParseMailWebhook(_ context.Context, hook sdk.Webhook) ([]sdk.MailEvent, error) {
	c, _ := p.conf.Get() // unconfigured: no key, so refused below
	key := c.webhookKey
	if len(key) == 0 {
		return nil, sdk.Unauthenticated("no webhook_key configured; refusing unsigned webhooks")
	}
	if err := stalwartapi.VerifySignature(key, hook.Body, hook.Header.Get(stalwartapi.SignatureHeader)); err != nil {
		return nil, sdk.Errorf(sdk.CodeUnauthenticated, "%w", err)
	}
	evs, err := stalwartapi.ParseWebhook(hook.Body)
	if err != nil {
		return nil, sdk.Errorf(sdk.CodeInvalid, "%w", err)
	}
	out := make([]sdk.MailEvent, 0, len(evs))
	for _, e := range evs {
		me := sdk.MailEvent{ID: e.ID, Type: e.Type, Time: e.CreatedAt, Detail: map[string]string{}}
		if strings.Contains(e.Account, "@") {
			me.Address = strings.ToLower(e.Account)
			_, me.Domain, _ = strings.Cut(me.Address, "@")
		} else if e.Account != "" {
			me.Detail["account"] = e.Account
		}
		if e.RemoteIP != "" {
			me.Detail["remoteIp"] = e.RemoteIP
		}
		for k, v := range e.Data {
			if s, ok := v.(string); ok {
				me.Detail[k] = s
			} else if b, err := json.Marshal(v); err == nil {
				me.Detail[k] = string(b)
			}
		}
		out = append(out, me)
	}
	return out, nil
}
