package host

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/dezky/platform/plugins/sdk"
)

// BinaryPrefix is the file name prefix of provider executables:
// dezky-provider-<name>.
const BinaryPrefix = "dezky-provider-"

// Config configures a Host.
type Config struct {
	// Dir is the plugins directory searched for dezky-provider-* binaries.
	Dir string
	// Binaries names plugin executables explicitly (plugin name → path),
	// in addition to and taking precedence over those found in Dir. Dir may
	// then be empty. Used to run one binary that is not installed, for
	// example by `dezky plugins conformance`.
	Binaries map[string]string
	// Capabilities binds each capability to a plugin. Several capabilities
	// may name the same plugin; they then share one process, and their
	// settings and secrets are merged (a key with two different values is
	// a configuration error).
	Capabilities map[sdk.Capability]Binding
	// Logger receives host events and plugin stderr (with plugin=<name>).
	// Defaults to slog.Default().
	Logger *slog.Logger
	// CallTimeout bounds every plugin call (default 30s). A shorter
	// deadline on the caller's context wins.
	CallTimeout time.Duration
	// StartTimeout bounds launch, handshake, Describe and Configure
	// (default 30s).
	StartTimeout time.Duration
	// Backoff paces restarts after a crash or a failed start.
	Backoff Backoff
	// Breaker configures the per-plugin circuit breaker.
	Breaker BreakerConfig
	// WatchInterval is how often a running plugin process is checked for
	// exit (default 100ms). A call failing with UNAVAILABLE triggers an
	// immediate check. (go-plugin reports a process exit only through
	// Client.Exited, so exit detection polls.)
	WatchInterval time.Duration
	// Checksums pins the SHA-256 (lowercase hex) of each plugin binary by
	// plugin name. When nil, New reads them from the plugins.lock file in
	// Dir (see LockFileName); when that file is absent too, nothing is
	// pinned. With pins, a bound plugin without one is a configuration
	// error, and a binary whose checksum differs is refused at every start
	// (go-plugin's SecureConfig): its state is StateRefused and its last
	// error says which checksum was found and which was pinned.
	Checksums map[string]string
	// Reattach attaches to plugins already running in debug mode (see
	// sdk.DebugEnv) instead of launching their binaries: plugin name → how
	// to reach it. A reattached plugin needs no binary in Dir and is never
	// checksummed, its connection has no mutual TLS, and the host neither
	// restarts nor stops its process. For development only.
	Reattach map[string]sdk.Reattach
	// DialOptions, when set, returns extra gRPC options for the connection
	// to the named plugin (for example interceptors for metrics, tracing
	// and request ids).
	DialOptions func(plugin string) []grpc.DialOption
}

// Binding names the plugin serving one capability and its configuration.
type Binding struct {
	Plugin   string
	Settings map[string]string
	Secrets  Secrets
}

// Secrets are handed to the plugin in Configure and never logged: they
// format as their keys only, and every plugin log line and error message
// is scrubbed of their values before it reaches the host's logger.
type Secrets map[string]string

// String lists the secret names only.
func (s Secrets) String() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Sprintf("Secrets[%s]", strings.Join(keys, ","))
}

// GoString lists the secret names only.
func (s Secrets) GoString() string { return s.String() }

// LogValue lists the secret names only.
func (s Secrets) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Backoff is an exponential restart backoff: Initial, doubled per
// consecutive failure, capped at Max. The count resets once a process has
// stayed up for Max.
type Backoff struct {
	Initial time.Duration // default 200ms
	Max     time.Duration // default 30s
}

// Delay is the wait after failures consecutive failures (at least one):
// Initial doubled per failure after the first, capped at Max.
func (b Backoff) Delay(failures int) time.Duration {
	d := b.Initial
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// BreakerConfig configures the circuit breaker: it opens after Failures
// consecutive failed calls (UNAVAILABLE or INTERNAL; business errors such
// as NOT_FOUND count as successes) and half-opens after CoolDown, letting
// one probe call through.
type BreakerConfig struct {
	Failures int           // default 5
	CoolDown time.Duration // default 30s
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 30 * time.Second
	}
	if c.Backoff.Initial <= 0 {
		c.Backoff.Initial = 200 * time.Millisecond
	}
	if c.Backoff.Max < c.Backoff.Initial {
		c.Backoff.Max = max(30*time.Second, c.Backoff.Initial)
	}
	if c.Breaker.Failures <= 0 {
		c.Breaker.Failures = 5
	}
	if c.Breaker.CoolDown <= 0 {
		c.Breaker.CoolDown = 30 * time.Second
	}
	if c.WatchInterval <= 0 {
		c.WatchInterval = 100 * time.Millisecond
	}
}

// Discover lists the provider binaries in dir: plugin name → path. A
// binary qualifies when it is a regular executable file named
// dezky-provider-<name> (with .exe on Windows).
func Discover(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("discover plugins in %s: %w", dir, err)
	}
	out := make(map[string]string)
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, BinaryPrefix) || e.IsDir() {
			continue
		}
		if runtime.GOOS == "windows" {
			if !strings.HasSuffix(name, ".exe") {
				continue
			}
			name = strings.TrimSuffix(name, ".exe")
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("discover plugins: stat %s: %w", e.Name(), err)
		}
		if !info.Mode().IsRegular() || (runtime.GOOS != "windows" && info.Mode().Perm()&0o111 == 0) {
			continue
		}
		plugin := strings.TrimPrefix(name, BinaryPrefix)
		if plugin == "" {
			continue
		}
		out[plugin] = filepath.Join(dir, e.Name())
	}
	return out, nil
}

// pluginSpec is one plugin process to supervise.
type pluginSpec struct {
	name         string
	path         string
	capabilities []sdk.Capability
	settings     map[string]string
	secrets      map[string]string
	checksum     string // pinned SHA-256, lowercase hex; "" when unpinned
	reattach     *plugin.ReattachConfig
}

// plan groups the bindings by plugin and checks them against the
// discovered binaries.
func plan(cfg Config, found map[string]string) (map[string]*pluginSpec, error) {
	specs := make(map[string]*pluginSpec)
	var errs []error
	caps := make([]sdk.Capability, 0, len(cfg.Capabilities))
	for c := range cfg.Capabilities {
		caps = append(caps, c)
	}
	sort.Slice(caps, func(i, j int) bool { return caps[i] < caps[j] })
	for _, c := range caps {
		b := cfg.Capabilities[c]
		if b.Plugin == "" {
			errs = append(errs, fmt.Errorf("capability %s: no plugin named", c))
			continue
		}
		path, ok := found[b.Plugin]
		ra, debug := cfg.Reattach[b.Plugin]
		if debug {
			path, ok = "reattach:"+ra.Network+":"+ra.Address, true
		}
		if !ok {
			errs = append(errs, fmt.Errorf("capability %s: plugin %q: no %s%s in %s", c, b.Plugin, BinaryPrefix, b.Plugin, cfg.Dir))
			continue
		}
		s := specs[b.Plugin]
		if s == nil {
			s = &pluginSpec{name: b.Plugin, path: path, settings: map[string]string{}, secrets: map[string]string{}}
			if debug {
				rc, err := ra.Config()
				if err != nil {
					errs = append(errs, fmt.Errorf("capability %s: plugin %q: %w", c, b.Plugin, err))
				}
				s.reattach = rc
			} else if cfg.Checksums != nil {
				sum, pinned := cfg.Checksums[b.Plugin]
				if !pinned {
					errs = append(errs, fmt.Errorf("capability %s: plugin %q is not pinned in %s (run `dezky plugins lock` to pin the binaries in %s)", c, b.Plugin, LockFileName, cfg.Dir))
				}
				s.checksum = strings.ToLower(sum)
			}
			specs[b.Plugin] = s
		}
		s.capabilities = append(s.capabilities, c)
		if err := merge(s.settings, b.Settings); err != nil {
			errs = append(errs, fmt.Errorf("capability %s: plugin %q: setting %w", c, b.Plugin, err))
		}
		if err := merge(s.secrets, b.Secrets); err != nil {
			errs = append(errs, fmt.Errorf("capability %s: plugin %q: secret %w", c, b.Plugin, err))
		}
	}
	return specs, errors.Join(errs...)
}

// merge copies src into dst, refusing a key whose value differs. The error
// names the key, never the value.
func merge(dst, src map[string]string) error {
	for k, v := range src {
		if old, ok := dst[k]; ok && old != v {
			return fmt.Errorf("%q has conflicting values", k)
		}
		dst[k] = v
	}
	return nil
}
