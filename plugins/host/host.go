package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/dezky/platform/plugins/sdk"
)

// Host supervises the configured provider plugins and routes capability
// calls to them.
type Host struct {
	cfg       Config
	instances map[string]*instance // by plugin name
	byCap     map[sdk.Capability]*instance
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once
}

// New discovers the plugins in cfg.Dir and prepares one supervisor per
// bound plugin. It fails when a bound plugin has no binary or the bindings
// conflict. Nothing is launched until Start.
func New(cfg Config) (*Host, error) {
	cfg.defaults()
	found := map[string]string{}
	var err error
	if cfg.Dir != "" || len(cfg.Binaries) == 0 {
		if found, err = Discover(cfg.Dir); err != nil {
			return nil, err
		}
	}
	maps.Copy(found, cfg.Binaries)
	if cfg.Checksums == nil && cfg.Dir != "" {
		if cfg.Checksums, err = ReadLock(cfg.Dir); err != nil {
			return nil, err
		}
	}
	specs, err := plan(cfg, found)
	if err != nil {
		return nil, fmt.Errorf("plugin host config: %w", err)
	}
	h := &Host{cfg: cfg, instances: map[string]*instance{}, byCap: map[sdk.Capability]*instance{}}
	for name, spec := range specs {
		in, err := newInstance(*spec, cfg)
		if err != nil {
			h.removeDirs()
			return nil, err
		}
		h.instances[name] = in
		for _, c := range spec.capabilities {
			h.byCap[c] = in
		}
	}
	return h, nil
}

// Start launches every plugin and waits for each first start attempt. It
// returns the joined start errors; plugins that failed keep being retried
// with backoff in the background, and their capabilities answer UNAVAILABLE
// until they run.
func (h *Host) Start(ctx context.Context) error {
	var errs []error
	h.startOnce.Do(func() {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		h.cancel = cancel
		for _, in := range h.instances {
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				in.run(runCtx)
			}()
		}
		for _, in := range h.sorted() {
			select {
			case <-in.ready:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("start plugins: %w", ctx.Err()))
				return
			}
			in.mu.Lock()
			if in.state != StateRunning {
				errs = append(errs, fmt.Errorf("plugin %s: %s", in.spec.name, in.lastErr))
			}
			in.mu.Unlock()
		}
	})
	return errors.Join(errs...)
}

// Close stops every plugin process and removes their socket directories.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		if h.cancel != nil {
			h.cancel()
			h.wg.Wait()
		}
		h.removeDirs()
	})
	return nil
}

func (h *Host) removeDirs() {
	for _, in := range h.instances {
		in.mu.Lock()
		in.dropLocked()
		in.state = StateStopped
		in.mu.Unlock()
		_ = os.RemoveAll(in.sockDir)
	}
}

func (h *Host) sorted() []*instance {
	out := make([]*instance, 0, len(h.instances))
	for _, in := range h.instances {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].spec.name < out[j].spec.name })
	return out
}

func (h *Host) bound(c sdk.Capability) (*instance, error) {
	in, ok := h.byCap[c]
	if !ok {
		return nil, &sdk.Error{Code: sdk.CodeUnsupported, Message: fmt.Sprintf("no plugin bound to capability %s", c)}
	}
	return in, nil
}

// Identity returns the identity capability, routed through its plugin's
// supervisor. It fails with UNSUPPORTED when no plugin is bound.
func (h *Host) Identity() (sdk.Identity, error) {
	in, err := h.bound(sdk.CapabilityIdentity)
	if err != nil {
		return nil, err
	}
	return identityProxy{in}, nil
}

// Mail returns the mail capability; see Identity.
func (h *Host) Mail() (sdk.Mail, error) {
	in, err := h.bound(sdk.CapabilityMail)
	if err != nil {
		return nil, err
	}
	return mailProxy{in}, nil
}

// Storage returns the storage capability; see Identity.
func (h *Host) Storage() (sdk.Storage, error) {
	in, err := h.bound(sdk.CapabilityStorage)
	if err != nil {
		return nil, err
	}
	return storageProxy{in}, nil
}

// DNS returns the dns capability; see Identity.
func (h *Host) DNS() (sdk.DNS, error) {
	in, err := h.bound(sdk.CapabilityDNS)
	if err != nil {
		return nil, err
	}
	return dnsProxy{in}, nil
}

// Billing returns the billing capability; see Identity.
func (h *Host) Billing() (sdk.Billing, error) {
	in, err := h.bound(sdk.CapabilityBilling)
	if err != nil {
		return nil, err
	}
	return billingProxy{in}, nil
}

// Provider returns the base Provider calls (Describe, Health) of the
// plugin bound to c, routed through its supervisor.
func (h *Host) Provider(c sdk.Capability) (sdk.Provider, error) {
	in, err := h.bound(c)
	if err != nil {
		return nil, err
	}
	return providerProxy{in}, nil
}

// Status is the supervisor's report on one plugin.
type Status struct {
	Plugin              string
	Path                string
	Capabilities        []sdk.Capability // bound in the config
	Description         sdk.Description  // as reported by the running process
	State               State
	Restarts            int
	LastError           string // never contains secret values
	LastErrorAt         time.Time
	Breaker             BreakerState
	ConsecutiveFailures int
	LastLatency         time.Duration
	StartedAt           time.Time
	PID                 int    // of the running process; 0 when none
	Socket              string // the running process's listen address
	// Checksum is the SHA-256 (lowercase hex) of the binary last started,
	// or the pinned one before any start; "" when unknown.
	Checksum string
	// Pinned reports whether the binary's checksum is pinned (plugins.lock)
	// and so verified before every start.
	Pinned bool
	// Health is filled by Health only: the plugin's own upstream check.
	Health *sdk.HealthStatus
}

// Status reports every plugin without calling it, sorted by plugin name.
func (h *Host) Status() []Status {
	out := make([]Status, 0, len(h.instances))
	for _, in := range h.sorted() {
		out = append(out, in.status())
	}
	return out
}

// Health reports every plugin like Status and additionally calls each
// running plugin's Health (the ping plus the provider's upstream check).
// A failed call is reported as an unhealthy result, not an error.
func (h *Host) Health(ctx context.Context) []Status {
	out := make([]Status, 0, len(h.instances))
	for _, in := range h.sorted() {
		hs, err := providerProxy{in}.Health(ctx)
		if err != nil {
			hs = sdk.HealthStatus{Healthy: false, Message: err.Error()}
		}
		st := in.status()
		st.Health = &hs
		out = append(out, st)
	}
	return out
}

func (in *instance) status() Status {
	bs, fails := in.breaker.snapshot()
	in.mu.Lock()
	defer in.mu.Unlock()
	return Status{
		Plugin: in.spec.name, Path: in.spec.path, Capabilities: append([]sdk.Capability(nil), in.spec.capabilities...),
		Description: in.desc, State: in.state, Restarts: in.restarts, LastError: in.lastErr, LastErrorAt: in.lastErrAt,
		Breaker: bs, ConsecutiveFailures: fails, LastLatency: time.Duration(in.lastLatency.Load()), StartedAt: in.startedAt, PID: in.pid, Socket: in.socket,
		Checksum: in.checksum, Pinned: in.spec.checksum != "",
	}
}
