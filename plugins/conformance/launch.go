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
