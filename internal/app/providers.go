package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// ProvidersFileName is the provider configuration file looked up in the
// data dir when --providers is not given.
const ProvidersFileName = "providers.json"

// ProviderBinding binds one capability to a plugin, as written in the
// provider configuration file:
//
//	{
//	  "identity": {"plugin": "authentik", "settings": {"url": "https://auth.example.com"},
//	               "secrets": {"token": "env:AUTHENTIK_TOKEN"}, "required": true},
//	  "billing":  {"plugin": "stripe", "secrets": {"api_key": "env:STRIPE_SECRET_KEY"}}
//	}
//
// A secret value "env:NAME" is read from the environment variable NAME at
// start, so the file itself need not hold secrets. Required capabilities
// must have a running plugin for /readyz to answer ready.
type ProviderBinding struct {
	Plugin   string            `json:"plugin"`
	Settings map[string]string `json:"settings,omitempty"`
	Secrets  map[string]string `json:"secrets,omitempty"`
	Required bool              `json:"required,omitempty"`
}

// ProvidersConfig maps capabilities to their plugins.
type ProvidersConfig map[sdk.Capability]ProviderBinding

// LoadProviders reads a provider configuration file, resolving env:
// secrets. A missing file is an error.
func LoadProviders(path string) (ProvidersConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("provider config: %w", err)
	}
	var cfg ProvidersConfig
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("provider config %s: %w", path, err)
	}
	for c, b := range cfg {
		known := false
		for _, k := range sdk.Capabilities {
			known = known || k == c
		}
		if !known {
			return nil, fmt.Errorf("provider config %s: unknown capability %q", path, c)
		}
		if b.Plugin == "" {
			return nil, fmt.Errorf("provider config %s: %s: plugin is required", path, c)
		}
		for k, v := range b.Secrets {
			name, ok := strings.CutPrefix(v, "env:")
			if !ok {
				continue
			}
			val, set := os.LookupEnv(name)
			if !set {
				return nil, fmt.Errorf("provider config %s: %s secret %q: environment variable %s is not set", path, c, k, name)
			}
			b.Secrets[k] = val
		}
	}
	return cfg, nil
}

// hostBindings converts the configuration for the plugin host.
func (p ProvidersConfig) hostBindings() map[sdk.Capability]host.Binding {
	out := map[sdk.Capability]host.Binding{}
	for c, b := range p {
		out[c] = host.Binding{Plugin: b.Plugin, Settings: b.Settings, Secrets: host.Secrets(b.Secrets)}
	}
	return out
}

// required lists the required capabilities in a stable order.
func (p ProvidersConfig) required() []sdk.Capability {
	var out []sdk.Capability
	for c, b := range p {
		if b.Required {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// DefaultPluginsDir is the directory holding the running dezky binary when
// it contains provider binaries, else ./bin.
func DefaultPluginsDir() string {
	if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		dir := filepath.Dir(exe)
		if found, err := host.Discover(dir); err == nil && len(found) > 0 {
			return dir
		}
	}
	return "bin"
}

// discoverPlugins lists the provider binaries in dir; a missing directory
// holds none.
func discoverPlugins(dir string) (map[string]string, error) {
	found, err := host.Discover(dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	return found, err
}
