// Package demoupstreams runs the upstreams of the embedded demo: the
// Authentik, oCIS and Stalwart simulators and a loopback authoritative DNS
// server for the demo zones in-process, stripe-mock as a process, and binds
// the provider plugins to them. It is linked only into
// the demo binary (cmd/dezky-demo, what `make run` starts) and tests; the
// production binary cmd/dezky carries no simulator.
package demoupstreams

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/dns/dnsserver"
)

// Stripe-mock, the Stripe API simulator the demo uses for billing when it
// is installed (see providers/stripe/stripetest for the version).
const (
	stripeMockVersion = "v0.183.0"
	stripeMockAPIKey  = "sk_test_dezky"
	// stripeMockPublishableKey is handed to browsers with a setup intent;
	// stripe-mock has no browser side, so it only shows the wiring.
	stripeMockPublishableKey = "pk_test_dezky"
	stripeMockBinEnv         = "STRIPE_MOCK_BIN"
)

// upstreams are the in-process simulators and the stripe-mock process
// the embedded demo points its provider plugins at.
type upstreams struct {
	dns     *dnsserver.Server
	servers []*http.Server
	closers []func() error
	mock    *exec.Cmd
}

// Start starts a loopback simulator for every simulated
// provider whose plugin binary is in the plugins dir, and stripe-mock when
// it is installed, and returns the bindings pointing at them. Providers
// without a binary (or billing without stripe-mock) stay unbound and are
// reported as not configured.
//
// The oCIS simulator writes its audit log into dataDir and the Stalwart
// simulator delivers signed webhooks to baseURL's mail webhook, so audit
// ingest runs in the demo as it would against the real systems.
//
// Start is an app.UpstreamStarter; the returned stop function closes
// everything it started.
func Start(ctx context.Context, found map[string]string, dataDir, baseURL string, log *slog.Logger) (app.ProvidersConfig, func(), error) {
	d := &upstreams{}
	cfg, err := d.start(ctx, found, dataDir, baseURL, log)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return cfg, d.Close, nil
}

func (d *upstreams) start(ctx context.Context, found map[string]string, dataDir, baseURL string, log *slog.Logger) (app.ProvidersConfig, error) {
	cfg := app.ProvidersConfig{}
	token := randomHex(24)
	webhookKey := randomHex(32)
	auditLog := filepath.Join(dataDir, "demo-upstreams", "ocis-audit.log")
	if err := os.MkdirAll(filepath.Dir(auditLog), 0o700); err != nil {
		return nil, fmt.Errorf("demo upstreams: %w", err)
	}
	sims := simulators(ctx, simOptions{Token: token, AuditLog: auditLog,
		MailWebhookURL: baseURL + "/webhooks/mail", MailWebhookKey: webhookKey})
	for _, s := range sims {
		if _, ok := found[s.plugin]; !ok {
			log.Warn("demo: provider plugin not found; capability not configured", "capability", s.capability, "plugin", s.plugin)
			continue
		}
		url, err := d.serve(s, "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("demo %s simulator: %w", s.plugin, err)
		}
		cfg[s.capability] = s.binding(url)
		log.Info("demo: simulator started", "capability", s.capability, "plugin", s.plugin, "url", url)
	}
	if err := d.startDNS(found, cfg, log); err != nil {
		return nil, err
	}
	if _, ok := found["stripe"]; !ok {
		log.Warn("demo: stripe provider plugin not found; billing not configured")
		return cfg, nil
	}
	bin := FindStripeMock()
	if bin == "" {
		log.Warn("demo: stripe-mock not installed; billing not configured",
			"install", "go install github.com/stripe/stripe-mock@"+stripeMockVersion)
		return cfg, nil
	}
	url, err := d.startStripeMock(ctx, bin)
	if err != nil {
		log.Warn("demo: stripe-mock did not start; billing not configured", "binary", bin, "err", err)
		return cfg, nil
	}
	// The platform's events come from an emitter in front of stripe-mock,
	// signed with a secret made for this run.
	secret := "whsec_" + randomHex(24)
	events, err := newStripeEvents(ctx, url, baseURL+"/webhooks/billing", secret, log)
	if err != nil {
		return nil, fmt.Errorf("demo billing events: %w", err)
	}
	front, err := d.serve(simulator{plugin: "stripe", handler: func() (http.Handler, func() error, error) { return events, nil, nil }}, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo billing events: %w", err)
	}
	cfg[sdk.CapabilityBilling] = app.ProviderBinding{Plugin: "stripe",
		Settings: map[string]string{"api_base_url": front, "publishable_key": stripeMockPublishableKey},
		Secrets:  map[string]string{"api_key": stripeMockAPIKey, "webhook_secret": secret}}
	log.Info("demo: stripe-mock started", "url", url, "binary", bin, "events", "signed invoice events to "+baseURL+"/webhooks/billing")
	return cfg, nil
}

// DemoZones are the zones the demo's loopback DNS server is authoritative
// for, accepting dynamic updates from the dns plugin: a mail domain added
// under one of them has its records published and is verified in
// seconds. Names elsewhere resolve to nothing, so such a domain stays
// PENDING with every record missing.
var DemoZones = []string{"example."}

// startDNS runs the loopback DNS server for DemoZones and binds the dns
// plugin to it (resolver and RFC 2136 update server, TSIG-signed).
func (d *upstreams) startDNS(found map[string]string, cfg app.ProvidersConfig, log *slog.Logger) error {
	if _, ok := found["dns"]; !ok {
		log.Warn("demo: provider plugin not found; capability not configured", "capability", sdk.CapabilityDNS, "plugin", "dns")
		return nil
	}
	secret := base64.StdEncoding.EncodeToString([]byte(randomHex(32)))
	srv, err := startDNS("", DemoZones, dnsKeyName, secret)
	if err != nil {
		return fmt.Errorf("demo dns server: %w", err)
	}
	d.dns = srv
	cfg[sdk.CapabilityDNS] = dnsBinding(srv.Addr, dnsKeyName, secret)
	log.Info("demo: loopback DNS server started", "capability", sdk.CapabilityDNS, "plugin", "dns", "addr", srv.Addr, "zones", DemoZones)
	return nil
}

// serve starts sim's handler on addr and returns its base URL; Close
// stops it.
func (d *upstreams) serve(sim simulator, addr string) (string, error) {
	h, closer, err := sim.handler()
	if err != nil {
		return "", err
	}
	if closer != nil {
		d.closers = append(d.closers, closer)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	d.servers = append(d.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// FindStripeMock returns the stripe-mock executable to use, "" when none
// is installed: $STRIPE_MOCK_BIN, the pinned version in the user cache's
// dezky tools directory, stripe-mock on PATH, then $GOBIN and
// $GOPATH/bin (default ~/go/bin).
func FindStripeMock() string {
	name := "stripe-mock"
	var candidates []string
	candidates = append(candidates, os.Getenv(stripeMockBinEnv))
	if cache, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(cache, "dezky", "tools", "stripe-mock@"+stripeMockVersion, name))
	}
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		candidates = append(candidates, filepath.Join(gobin, name))
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		candidates = append(candidates, filepath.Join(dir, "bin", name))
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return c
		}
	}
	return ""
}

var stripeMockListen = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// startStripeMock launches bin on a loopback port and returns its URL.
func (d *upstreams) startStripeMock(ctx context.Context, bin string) (string, error) {
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0", "-strict-version-check")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return "", err
	}
	d.mock = cmd
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(exited)
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := stripeMockListen.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case a := <-addr:
		return "http://" + a, nil
	case <-exited:
		d.mock = nil
		return "", errors.New("exited before listening")
	case <-timer.C:
	case <-ctx.Done():
	}
	d.stopMock()
	return "", errors.New("did not start listening")
}

func (d *upstreams) stopMock() {
	if d.mock != nil && d.mock.Process != nil {
		_ = d.mock.Process.Kill()
	}
	d.mock = nil
}

// Close stops the simulators and stripe-mock.
func (d *upstreams) Close() {
	if d == nil {
		return
	}
	for _, s := range d.servers {
		_ = s.Close()
	}
	if d.dns != nil {
		d.dns.Close()
	}
	for _, c := range d.closers {
		_ = c()
	}
	d.stopMock()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
