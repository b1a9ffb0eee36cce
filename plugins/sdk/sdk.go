package sdk

import (
	"context"
	"net/http"
)

// ProtocolVersion is the plugin protocol this SDK serves. Hosts negotiate
// the highest version both sides support through go-plugin's
// VersionedPlugins, so a host at version N still loads plugins built
// against any version it lists (currently 1 and 2).
const ProtocolVersion = 2

// PluginName is the name under which the provider is registered in every
// go-plugin plugin set.
const PluginName = "provider"

// Capability names one area a provider can serve.
type Capability string

// The capabilities a provider may implement.
const (
	CapabilityIdentity Capability = "identity"
	CapabilityMail     Capability = "mail"
	CapabilityStorage  Capability = "storage"
	CapabilityDNS      Capability = "dns"
	CapabilityBilling  Capability = "billing"
)

// Capabilities lists every known capability in a stable order.
var Capabilities = []Capability{CapabilityIdentity, CapabilityMail, CapabilityStorage, CapabilityDNS, CapabilityBilling}

// Provider is the base every plugin implements. A provider additionally
// implements any subset of Identity, Mail, Storage, DNS and Billing; Serve
// registers exactly the capability services the value implements.
type Provider interface {
	// Describe reports the provider's name and version. Serve fills in
	// Capabilities (when empty) and ProtocolVersion.
	Describe(ctx context.Context) (Description, error)
	// Configure hands the provider its settings and secrets. It is called
	// once after launch (and again after every restart) before any other
	// capability call. Secrets must never be logged.
	Configure(ctx context.Context, req ConfigureRequest) error
	// Health checks the provider's upstream (for example an HTTP ping of
	// the API it drives). Reaching the plugin at all is the host's ping;
	// this reports whether the provider can do useful work.
	Health(ctx context.Context) (HealthStatus, error)
}

// Description identifies a provider.
type Description struct {
	Name            string
	Version         string
	Capabilities    []Capability
	ProtocolVersion int
}

// ConfigureRequest carries the host configuration for one provider.
type ConfigureRequest struct {
	Settings map[string]string
	Secrets  map[string]string
}

// HealthStatus is the provider's own view of its upstream.
type HealthStatus struct {
	Healthy bool
	Message string
}

// Webhook is a raw inbound webhook request as received by the host's HTTP
// endpoint. Header keys are canonical MIME header keys.
type Webhook struct {
	Header http.Header
	Body   []byte
}

// DNSRecord is one resource record. Value is the record data in zone-file
// presentation form (for MX "10 mx.example.com.", for TXT the unquoted
// text). TTL is in seconds; zero means the upstream default.
type DNSRecord struct {
	Name  string
	Type  string
	Value string
	TTL   uint32
}
