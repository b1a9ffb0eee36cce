package demoupstreams

import (
	"context"
	"net/http"
	"time"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/authentik/authentiksim"
	"github.com/dezky/platform/providers/dns/dnsserver"
	"github.com/dezky/platform/providers/ocis/ocissim"
	"github.com/dezky/platform/providers/stalwart/stalwartsim"
)

// dnsKeyName is the TSIG key the dns plugin signs its updates with.
const dnsKeyName = "dezky-demo."

// simOptions configure the HTTP simulators the same way for the embedded
// demo and the standalone upstreams command.
type simOptions struct {
	// Token is the API token every simulator accepts.
	Token string
	// AuditLog is the file the oCIS simulator writes its audit log to
	// (and the ocis plugin reads).
	AuditLog string
	// MailWebhookURL and MailWebhookKey: where the Stalwart simulator
	// delivers its signed webhooks; an empty URL delivers none.
	MailWebhookURL, MailWebhookKey string
}

// simulator is one simulated HTTP upstream and how a provider plugin is
// bound to it.
type simulator struct {
	capability sdk.Capability
	plugin     string
	// handler builds the simulator; the returned function, if any, stops
	// its background work.
	handler func() (http.Handler, func() error, error)
	opts    simOptions
}

// simulators returns the Authentik, oCIS and Stalwart simulators for o;
// ctx bounds the Stalwart simulator's webhook delivery.
func simulators(ctx context.Context, o simOptions) []simulator {
	return []simulator{
		{capability: sdk.CapabilityIdentity, plugin: "authentik", opts: o, handler: func() (http.Handler, func() error, error) {
			return authentiksim.New(authentiksim.Options{Token: o.Token}), nil, nil
		}},
		{capability: sdk.CapabilityStorage, plugin: "ocis", opts: o, handler: func() (http.Handler, func() error, error) {
			s, err := ocissim.New(ocissim.Options{Token: o.Token, AuditLogPath: o.AuditLog})
			if err != nil {
				return nil, nil, err
			}
			return s, s.Close, nil
		}},
		{capability: sdk.CapabilityMail, plugin: "stalwart", opts: o, handler: func() (http.Handler, func() error, error) {
			sim := stalwartsim.New(stalwartsim.Options{Token: o.Token, WebhookURL: o.MailWebhookURL, WebhookKey: o.MailWebhookKey})
			if o.MailWebhookURL == "" {
				return sim, nil, nil
			}
			dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			done := make(chan struct{})
			go func() {
				defer close(done)
				sim.RunWebhookDelivery(dctx, 2*time.Second)
			}()
			return sim, func() error { cancel(); <-done; return nil }, nil
		}},
	}
}

// binding is the provider binding of s's plugin to the simulator at url.
func (s simulator) binding(url string) app.ProviderBinding {
	b := app.ProviderBinding{Plugin: s.plugin, Settings: map[string]string{"url": url}, Secrets: map[string]string{"token": s.opts.Token}}
	switch s.plugin {
	case "authentik":
		// Recovery links handed out as member credentials live a day.
		b.Settings["recovery_token_duration"] = "days=1"
	case "ocis":
		b.Settings["audit_log_path"] = s.opts.AuditLog
	case "stalwart":
		b.Secrets["webhook_key"] = s.opts.MailWebhookKey
	}
	return b
}

// startDNS runs an authoritative DNS server for zones on addr (empty: a
// loopback port) accepting RFC 2136 updates signed with the TSIG key
// keyName/secret (base64); names outside the zones do not exist.
func startDNS(addr string, zones []string, keyName, secret string) (*dnsserver.Server, error) {
	return dnsserver.Start(dnsserver.Config{Addr: addr, Zones: zones, NXDomainOutside: true,
		TSIGKeys: map[string]string{keyName: secret}})
}

// dnsBinding binds the dns plugin to the server at addr.
func dnsBinding(addr, keyName, secret string) app.ProviderBinding {
	return app.ProviderBinding{Plugin: "dns",
		Settings: map[string]string{"resolvers": addr, "update_server": addr, "tsig_key_name": keyName, "timeout": "2s"},
		Secrets:  map[string]string{"tsig_secret": secret}}
}
