// Command dezky-provider-dns is the Dezky DNS provider plugin. It serves the
// sdk.DNS capability with dnsclient: lookups against the configured
// resolvers and, when an update server and TSIG key are configured, RFC 2136
// record changes in hosted zones.
//
// Settings: "resolvers" (comma-separated host[:port], required),
// "timeout" (per-attempt Go duration, optional), "update_server" (host[:port],
// optional), "tsig_key_name" (required with update_server), "health_name"
// (name looked up by Health, default "dezky-health.invalid").
// Secrets: "tsig_secret" (base64, required with update_server).
//
// UpsertRecord replaces the record set of (name, type) with the given record,
// as the sdk contract requires; DeleteRecord fails with NOT_FOUND when the
// update server does not hold the record. An update the server refuses
// (NOTAUTH or REFUSED: it does not hold the zone, or the key may not change
// it) is UNAUTHENTICATED, not UNAVAILABLE: it is a definite answer about
// that zone, so callers probing for the zone that holds a name do not
// trip the host's circuit breaker.
package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/dns/dnsclient"
)

const (
	providerName    = "dns"
	providerVersion = "1.0.0"
)

func main() { sdk.Serve(&provider{}) }

type provider struct{ conf sdk.Configured[config] }

// config is what Configure sets up: the DNS client and the settings.
type config struct {
	*dnsclient.Client
	updates    bool
	healthName string
}

var (
	_ sdk.Provider = (*provider)(nil)
	_ sdk.DNS      = (*provider)(nil)
)

func (p *provider) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: providerName, Version: providerVersion, Capabilities: []sdk.Capability{sdk.CapabilityDNS}, ProtocolVersion: sdk.ProtocolVersion}, nil
}

func (p *provider) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg := dnsclient.Config{Logger: sdk.Logger()}
	for _, r := range strings.Split(req.Settings["resolvers"], ",") {
		if r = strings.TrimSpace(r); r != "" {
			cfg.Resolvers = append(cfg.Resolvers, r)
		}
	}
	if t := req.Settings["timeout"]; t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return sdk.Invalid("setting timeout %q is not a positive duration", t)
		}
		cfg.Timeout = d
	}
	if us := req.Settings["update_server"]; us != "" {
		cfg.UpdateServer = us
		cfg.TSIG = &dnsclient.TSIGKey{Name: req.Settings["tsig_key_name"], Secret: req.Secrets["tsig_secret"]}
	}
	c, err := dnsclient.New(cfg)
	if err != nil {
		return toSDK(err)
	}
	health := req.Settings["health_name"]
	if health == "" {
		health = "dezky-health.invalid"
	}
	p.conf.Set(config{Client: c, updates: cfg.UpdateServer != "", healthName: health})
	return nil
}

func (p *provider) Health(ctx context.Context) (sdk.HealthStatus, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.HealthStatus{Message: err.Error()}, nil
	}
	ans, err := c.Resolve(ctx, c.healthName, dnsclient.TypeA)
	if err != nil && !errors.Is(err, dnsclient.ErrNotFound) {
		return sdk.HealthStatus{Message: err.Error()}, nil
	}
	return sdk.HealthStatus{Healthy: true, Message: "resolver " + ans.Resolver + " answered"}, nil
}

func (p *provider) Lookup(ctx context.Context, req sdk.LookupRequest) (sdk.LookupResult, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.LookupResult{}, err
	}
	typ := dnsclient.RecordType(strings.ToUpper(req.Type))
	ans, err := c.Resolve(ctx, req.Name, typ)
	if errors.Is(err, dnsclient.ErrNotFound) {
		return sdk.LookupResult{Records: []sdk.DNSRecord{}, Resolver: ans.Resolver}, nil
	}
	if err != nil {
		return sdk.LookupResult{}, toSDK(err)
	}
	out := sdk.LookupResult{Records: make([]sdk.DNSRecord, 0, len(ans.Records)), Resolver: ans.Resolver}
	for _, r := range ans.Records {
		out.Records = append(out.Records, toSDKRecord(r))
	}
	return out, nil
}

func (p *provider) UpsertRecord(ctx context.Context, req sdk.RecordChange) error {
	c, err := p.updater()
	if err != nil {
		return err
	}
	rec, err := fromSDKRecord(req.Record)
	if err != nil {
		return err
	}
	return updateErr(c.ReplaceRecords(ctx, req.Zone, rec.Name, rec.Type, []dnsclient.Record{rec}))
}

func (p *provider) DeleteRecord(ctx context.Context, req sdk.RecordChange) error {
	c, err := p.updater()
	if err != nil {
		return err
	}
	rec, err := fromSDKRecord(req.Record)
	if err != nil {
		return err
	}
	ok, err := c.RecordExists(ctx, req.Zone, rec)
	if err != nil {
		return toSDK(err)
	}
	if !ok {
		return sdk.NotFound("record %s %s not found in zone %s", rec.Name, rec.Type, req.Zone)
	}
	return updateErr(c.DeleteRecord(ctx, req.Zone, rec))
}

func (p *provider) updater() (*dnsclient.Client, error) {
	c, err := p.conf.Get()
	if err != nil {
		return nil, err
	}
	if !c.updates {
		return nil, sdk.Unsupported("dynamic updates are not configured (no update_server)")
	}
	return c.Client, nil
}

// toSDKRecord renders a record in zone-file presentation form.
func toSDKRecord(r dnsclient.Record) sdk.DNSRecord {
	v := r.Value
	switch r.Type {
	case dnsclient.TypeMX:
		v = fmt.Sprintf("%d %s.", r.Priority, r.Value)
	case dnsclient.TypeCNAME:
		v = r.Value + "."
	}
	return sdk.DNSRecord{Name: r.Name, Type: string(r.Type), Value: v, TTL: r.TTL}
}

// fromSDKRecord parses a presentation-form record ("10 mx.example." for MX).
func fromSDKRecord(r sdk.DNSRecord) (dnsclient.Record, error) {
	rec := dnsclient.Record{Name: r.Name, Type: dnsclient.RecordType(strings.ToUpper(r.Type)), Value: r.Value, TTL: r.TTL}
	if rec.Type == dnsclient.TypeMX && rec.Value != "" {
		pref, host, ok := strings.Cut(strings.TrimSpace(rec.Value), " ")
		n, err := strconv.ParseUint(pref, 10, 16)
		if !ok || err != nil {
			return dnsclient.Record{}, sdk.Invalid("MX value %q must be \"<preference> <host>\"", r.Value)
		}
		rec.Priority, rec.Value = uint16(n), strings.TrimSpace(host)
	}
	return rec, nil
}

// updateErr maps the error of a dynamic update: refused updates are
// UNAUTHENTICATED (see the package doc), the rest as toSDK.
func updateErr(err error) error {
	if errors.Is(err, dnsclient.ErrRefused) {
		return &sdk.Error{Code: sdk.CodeUnauthenticated, Message: err.Error(), Cause: err}
	}
	return toSDK(err)
}

// toSDK maps dnsclient error kinds to sdk codes.
func toSDK(err error) error {
	if err == nil {
		return nil
	}
	code := sdk.CodeInternal
	switch {
	case errors.Is(err, dnsclient.ErrNotFound):
		code = sdk.CodeNotFound
	case errors.Is(err, dnsclient.ErrConflict):
		code = sdk.CodeConflict
	case errors.Is(err, dnsclient.ErrInvalid):
		code = sdk.CodeInvalid
	case errors.Is(err, dnsclient.ErrRefused), errors.Is(err, dnsclient.ErrUnavailable):
		code = sdk.CodeUnavailable
	}
	return &sdk.Error{Code: code, Message: err.Error(), Cause: err}
}
