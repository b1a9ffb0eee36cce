package graph_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/gobuild"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// pinnedPlugins builds the test provider as plugin "test" and a tampered
// copy as plugin "bad" into a new directory, pinning both before the
// tampering, and returns the directory and the pins.
func pinnedPlugins(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	good := filepath.Join(dir, host.BinaryPrefix+"test")
	if err := gobuild.Build(t.Context(), "github.com/dezky/platform/plugins/internal/testprovider/cmd/dezky-provider-test", good); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, host.BinaryPrefix+"bad")
	if err := os.WriteFile(bad, b, 0o755); err != nil {
		t.Fatal(err)
	}
	pins, err := host.WriteLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, append(b, "tampered"...), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, pins
}

// TestPluginsQuery: operators see every supervised plugin with version,
// protocol, capabilities, state and checksum; a tampered binary shows as
// REFUSED with the reason, also in the health report; everybody else is
// refused.
func TestPluginsQuery(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			dir, pins := pinnedPlugins(t)
			s := testserver.StartWith(t, d, func(c *app.ServeConfig) {
				c.PluginsDir = dir
				c.Providers = app.ProvidersConfig{
					sdk.CapabilityIdentity: {Plugin: "test"},
					sdk.CapabilityStorage:  {Plugin: "test"},
					sdk.CapabilityDNS:      {Plugin: "bad"},
				}
			})
			type plugin struct {
				Name, Version, State string
				Protocol, Restarts   int
				Capabilities         []string
				LastError, Checksum  *string
				Pinned               bool
			}
			var data struct{ Plugins []plugin }
			s.Query("operator", `{ plugins { name version protocol capabilities state restarts lastError checksum pinned } }`, nil).Decode(t, &data)
			if len(data.Plugins) != 2 {
				t.Fatalf("plugins = %+v, want bad and test", data.Plugins)
			}
			bad, good := data.Plugins[0], data.Plugins[1]
			if good.Name != "test" || good.Version != "1.0.0" || good.Protocol != sdk.ProtocolVersion || good.State != "RUNNING" ||
				strings.Join(good.Capabilities, ",") != "identity,storage" || good.LastError != nil ||
				good.Checksum == nil || *good.Checksum != pins["test"] || !good.Pinned {
				t.Errorf("test plugin = %+v, want running 1.0.0 on identity and storage with its pinned checksum", good)
			}
			if bad.Name != "bad" || bad.State != "REFUSED" || bad.Version != "" || bad.LastError == nil ||
				!strings.Contains(*bad.LastError, pins["bad"]) || !strings.Contains(*bad.LastError, "plugins.lock") || !bad.Pinned {
				t.Errorf("bad plugin = %+v, want REFUSED naming its pin", bad)
			}

			var health struct {
				Health struct {
					Services []struct{ Name, Status, Message string }
				}
			}
			s.Query("operator", `{ health { services { name status message } } }`, nil).Decode(t, &health)
			found := false
			for _, svc := range health.Health.Services {
				if strings.Contains(svc.Name, "bad") {
					found = true
					if svc.Status != "BAD" || !strings.Contains(svc.Message, "refused") {
						t.Errorf("health of the refused plugin = %+v, want BAD saying refused", svc)
					}
				}
			}
			if !found {
				t.Errorf("health lists no entry for the refused plugin: %+v", health.Health.Services)
			}

			for _, as := range []string{"partner:northwind", "admin:acme", "member:acme", ""} {
				want := "FORBIDDEN"
				if as == "" {
					want = "UNAUTHENTICATED"
				}
				if got := s.Query(as, `{ plugins { name } }`, nil).Code(); got != want {
					t.Errorf("plugins as %q: code %q, want %s", as, got, want)
				}
			}
		})
	}
}
