package demoupstreams

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/logging"
	"github.com/dezky/platform/plugins/sdk"
)

// StandaloneConfig configures the upstream simulators run on their own,
// outside a dezky server: what `dezky-demo upstreams` starts for the
// compose stack, where the dezky replicas reach them over the network.
type StandaloneConfig struct {
	// AuthentikAddr, OCISAddr and StalwartAddr are the host:port each
	// HTTP simulator listens on; DNSAddr the DNS server's (UDP and TCP).
	// An empty address leaves that upstream out.
	AuthentikAddr, OCISAddr, StalwartAddr, DNSAddr string
	// Token is the API token the HTTP simulators accept (required).
	Token string
	// OCISAuditLog is the file the oCIS simulator appends its audit log
	// to; the ocis plugin of every replica must be able to read it.
	OCISAuditLog string
	// MailWebhookURL is where the Stalwart simulator delivers its webhooks
	// (the dezky server's /webhooks/mail), signed with MailWebhookKey.
	// Empty: no delivery.
	MailWebhookURL, MailWebhookKey string
	// DNSZones are the zones the DNS server is authoritative for; updates
	// are accepted when signed with the TSIG key DNSKeyName/DNSSecret
	// (base64, required with DNSAddr).
	DNSZones              []string
	DNSKeyName, DNSSecret string
	// Log receives one line per upstream started; nil discards.
	Log *slog.Logger
}

// Standalone is a running set of upstream simulators.
type Standalone struct {
	d   *upstreams
	cfg app.ProvidersConfig
}

// StartStandalone starts the upstreams cfg names. Its Close stops them.
func StartStandalone(ctx context.Context, cfg StandaloneConfig) (*Standalone, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Token == "" && (cfg.AuthentikAddr != "" || cfg.OCISAddr != "" || cfg.StalwartAddr != "") {
		return nil, errors.New("upstreams: a token is required")
	}
	if cfg.MailWebhookURL != "" && cfg.MailWebhookKey == "" {
		return nil, errors.New("upstreams: a mail webhook URL needs a webhook key")
	}
	if cfg.DNSAddr != "" && (cfg.DNSSecret == "" || cfg.DNSKeyName == "" || len(cfg.DNSZones) == 0) {
		return nil, errors.New("upstreams: the DNS server needs zones, a TSIG key name and a TSIG secret")
	}
	if cfg.OCISAddr != "" {
		if cfg.OCISAuditLog == "" {
			return nil, errors.New("upstreams: the oCIS simulator needs an audit log path")
		}
		if err := os.MkdirAll(filepath.Dir(cfg.OCISAuditLog), 0o755); err != nil {
			return nil, fmt.Errorf("upstreams: %w", err)
		}
	}
	s := &Standalone{d: &upstreams{}, cfg: app.ProvidersConfig{}}
	addrs := map[string]string{"authentik": cfg.AuthentikAddr, "ocis": cfg.OCISAddr, "stalwart": cfg.StalwartAddr}
	sims := simulators(ctx, simOptions{Token: cfg.Token, AuditLog: cfg.OCISAuditLog,
		MailWebhookURL: cfg.MailWebhookURL, MailWebhookKey: cfg.MailWebhookKey})
	for _, sim := range sims {
		addr := addrs[sim.plugin]
		if addr == "" {
			continue
		}
		url, err := s.d.serve(sim, addr)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("upstreams: %s simulator on %s: %w", sim.plugin, addr, err)
		}
		s.cfg[sim.capability] = sim.binding(url)
		cfg.Log.Info("upstreams: simulator started", "capability", sim.capability, "plugin", sim.plugin, "url", url)
	}
	if cfg.DNSAddr != "" {
		srv, err := startDNS(cfg.DNSAddr, cfg.DNSZones, cfg.DNSKeyName, cfg.DNSSecret)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("upstreams: dns server on %s: %w", cfg.DNSAddr, err)
		}
		s.d.dns = srv
		s.cfg[sdk.CapabilityDNS] = dnsBinding(srv.Addr, cfg.DNSKeyName, cfg.DNSSecret)
		cfg.Log.Info("upstreams: dns server started", "capability", sdk.CapabilityDNS, "addr", srv.Addr, "zones", cfg.DNSZones)
	}
	return s, nil
}

// Bindings returns the provider bindings that reach the running upstreams
// at the addresses they are bound to (secrets included): what a dezky
// server on the same host would use as its provider configuration.
func (s *Standalone) Bindings() app.ProvidersConfig { return s.cfg }

// Close stops every upstream.
func (s *Standalone) Close() { s.d.Close() }

// RunStandalone is the `upstreams` command: it parses args, starts the
// simulators and serves until ctx ends.
func RunStandalone(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("upstreams", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: dezky-demo upstreams [flags]

Runs the Authentik, oCIS and Stalwart simulators and an authoritative DNS
server on fixed addresses, for dezky servers that reach them over the
network (the compose stack). An empty address leaves that upstream out.

`)
		fs.PrintDefaults()
	}
	var cfg StandaloneConfig
	var zones, logFormat string
	fs.StringVar(&cfg.AuthentikAddr, "authentik-addr", env("DEZKY_SIM_AUTHENTIK_ADDR", "127.0.0.1:9100"), "Authentik simulator listen address (env DEZKY_SIM_AUTHENTIK_ADDR)")
	fs.StringVar(&cfg.OCISAddr, "ocis-addr", env("DEZKY_SIM_OCIS_ADDR", "127.0.0.1:9200"), "oCIS simulator listen address (env DEZKY_SIM_OCIS_ADDR)")
	fs.StringVar(&cfg.StalwartAddr, "stalwart-addr", env("DEZKY_SIM_STALWART_ADDR", "127.0.0.1:9300"), "Stalwart simulator listen address (env DEZKY_SIM_STALWART_ADDR)")
	fs.StringVar(&cfg.DNSAddr, "dns-addr", env("DEZKY_SIM_DNS_ADDR", "127.0.0.1:9353"), "DNS server listen address, UDP and TCP (env DEZKY_SIM_DNS_ADDR)")
	fs.StringVar(&cfg.OCISAuditLog, "ocis-audit-log", env("DEZKY_SIM_OCIS_AUDIT_LOG", filepath.Join("data", "demo-upstreams", "ocis-audit.log")), "file the oCIS simulator writes its audit log to (env DEZKY_SIM_OCIS_AUDIT_LOG)")
	fs.StringVar(&cfg.MailWebhookURL, "mail-webhook-url", env("DEZKY_SIM_MAIL_WEBHOOK_URL", ""), "dezky's /webhooks/mail URL the Stalwart simulator delivers to; empty: none (env DEZKY_SIM_MAIL_WEBHOOK_URL)")
	fs.StringVar(&zones, "dns-zones", env("DEZKY_SIM_DNS_ZONES", strings.Join(DemoZones, ",")), "comma-separated zones the DNS server is authoritative for (env DEZKY_SIM_DNS_ZONES)")
	fs.StringVar(&cfg.DNSKeyName, "dns-tsig-key-name", env("DEZKY_SIM_DNS_TSIG_KEY_NAME", dnsKeyName), "TSIG key name for dynamic updates (env DEZKY_SIM_DNS_TSIG_KEY_NAME)")
	fs.StringVar(&logFormat, "log-format", env("DEZKY_LOG_FORMAT", "text"), "log format: text or json (env DEZKY_LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("upstreams: unexpected arguments %q", fs.Args())
	}
	// Secrets come from the environment only, never from flags (which
	// show in process listings).
	cfg.Token = os.Getenv("DEZKY_SIM_TOKEN")
	cfg.MailWebhookKey = os.Getenv("DEZKY_SIM_MAIL_WEBHOOK_KEY")
	cfg.DNSSecret = os.Getenv("DEZKY_SIM_DNS_TSIG_SECRET")
	for _, z := range strings.Split(zones, ",") {
		if z = strings.TrimSpace(z); z != "" {
			cfg.DNSZones = append(cfg.DNSZones, z)
		}
	}
	log, err := logging.New(stderr, logFormat, slog.LevelInfo)
	if err != nil {
		return fmt.Errorf("upstreams: %w", err)
	}
	cfg.Log = log
	s, err := StartStandalone(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	log.Info("upstreams: running; stop with SIGINT or SIGTERM")
	<-ctx.Done()
	log.Info("upstreams: stopping")
	return nil
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
