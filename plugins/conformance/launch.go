package conformance

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/internal/testing/gobuild"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// RunProvider checks the base Provider calls.
func RunProvider(t *testing.T, p sdk.Provider) {
	ctx := testContext(t)
	d, err := p.Describe(ctx)
	must(t, err, "Describe")
	if d.Name == "" || d.Version == "" || len(d.Capabilities) == 0 || d.ProtocolVersion < 1 {
		t.Errorf("Describe = %+v, want a name, a version, capabilities and a protocol version", d)
	}
	h, err := p.Health(ctx)
	must(t, err, "Health")
	if !h.Healthy && h.Message == "" {
		t.Errorf("Health = %+v, want a message explaining the unhealthy state", h)
	}
}

// Plugin describes a provider binary to build and launch.
type Plugin struct {
	// Package is the import path (or ./relative path) of the provider's
	// main package.
	Package string
	// Name is the plugin name; the binary becomes dezky-provider-<Name>.
	// Defaults to the package's last path element without the
	// dezky-provider- prefix.
	Name string
	// Capabilities to bind to the plugin; at least one.
	Capabilities []sdk.Capability
	Settings     map[string]string
	Secrets      map[string]string
	// Configure adjusts the host configuration before start (timeouts,
	// backoff, breaker, logger).
	Configure func(*host.Config)
}

func (p Plugin) name() string {
	if p.Name != "" {
		return p.Name
	}
	return strings.TrimPrefix(filepath.Base(p.Package), host.BinaryPrefix)
}

// BuildProvider builds the main package pkg with "go build" into dir as
// dezky-provider-<name> and returns the binary's path. The build runs in
// the test's working directory, so pkg resolves in the enclosing module.
//
// Binaries come from a cache in the user's cache directory shared by all
// test processes, keyed by a hash of everything the binary is built from:
// each distinct source state is linked once, however many tests and
// packages ask for it, and a changed source is always built again.
func BuildProvider(tb testing.TB, pkg, name, dir string) string {
	tb.Helper()
	out := filepath.Join(dir, host.BinaryPrefix+name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := gobuild.Build(ctx, pkg, out); err != nil {
		tb.Fatalf("conformance: %v", err)
	}
	return out
}

// Launch builds p into t.TempDir(), starts it under a new host with every
// listed capability bound to it, and closes the host when the test ends.
func Launch(tb testing.TB, p Plugin) *host.Host {
	tb.Helper()
	dir := tb.TempDir()
	BuildProvider(tb, p.Package, p.name(), dir)
	return Start(tb, dir, p)
}

// Start starts the already built plugin p found in dir under a new host,
// like Launch without the build.
func Start(tb testing.TB, dir string, p Plugin) *host.Host {
	tb.Helper()
	if len(p.Capabilities) == 0 {
		tb.Fatalf("conformance: plugin %s: no capabilities to bind", p.name())
	}
	cfg := host.Config{Dir: dir, Capabilities: map[sdk.Capability]host.Binding{}}
	for _, c := range p.Capabilities {
		cfg.Capabilities[c] = host.Binding{Plugin: p.name(), Settings: p.Settings, Secrets: p.Secrets}
	}
	if p.Configure != nil {
		p.Configure(&cfg)
	}
	h, err := host.New(cfg)
	if err != nil {
		tb.Fatalf("conformance: %v", err)
	}
	tb.Cleanup(func() { _ = h.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		tb.Fatalf("conformance: start %s: %v", p.name(), err)
	}
	return h
}

// RunAll runs RunProvider and the suite of every capability bound in h.
func RunAll(t *testing.T, h *host.Host, opts ...Option) {
	bound := map[sdk.Capability]bool{}
	for _, st := range h.Status() {
		for _, c := range st.Capabilities {
			bound[c] = true
		}
	}
	for _, c := range sdk.Capabilities {
		if !bound[c] {
			continue
		}
		t.Run(string(c), func(t *testing.T) {
			base, err := h.Provider(c)
			must(t, err, "Provider")
			t.Run("provider", func(t *testing.T) { RunProvider(t, base) })
			switch c {
			case sdk.CapabilityIdentity:
				p, err := h.Identity()
				must(t, err, "Identity")
				RunIdentity(t, p, opts...)
			case sdk.CapabilityMail:
				p, err := h.Mail()
				must(t, err, "Mail")
				RunMail(t, p, opts...)
			case sdk.CapabilityStorage:
				p, err := h.Storage()
				must(t, err, "Storage")
				RunStorage(t, p, opts...)
			case sdk.CapabilityDNS:
				p, err := h.DNS()
				must(t, err, "DNS")
				RunDNS(t, p, opts...)
			case sdk.CapabilityBilling:
				p, err := h.Billing()
				must(t, err, "Billing")
				RunBilling(t, p, opts...)
			}
		})
	}
}
