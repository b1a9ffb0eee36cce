package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/dezky/platform/plugins/sdk"
)

// State is the lifecycle state of a supervised plugin.
type State string

// The plugin states.
const (
	StateStarting   State = "starting"   // launching, handshake, Configure
	StateRunning    State = "running"    // serving calls
	StateRestarting State = "restarting" // crashed or failed to start; waiting out the backoff
	// StateRefused: the binary's checksum does not match its pin, so it
	// was not started. The supervisor checks again after the backoff (a
	// restored binary starts again); the state stays refused until then.
	StateRefused State = "refused"
	StateStopped State = "stopped" // the host was closed
)

// instance supervises one plugin process: it launches it, configures it,
// watches it, and relaunches it with exponential backoff after a crash.
type instance struct {
	spec    pluginSpec
	cfg     Config
	log     *slog.Logger
	scrub   *strings.Replacer
	breaker *breaker
	sockDir string
	kick    chan struct{}
	ready   chan struct{} // closed after the first start attempt

	lastLatency atomic.Int64 // of the last call, in nanoseconds

	mu        sync.Mutex
	state     State
	client    *plugin.Client
	remote    sdk.Remote
	desc      sdk.Description
	restarts  int
	lastErr   string
	lastErrAt time.Time
	startedAt time.Time
	pid       int
	socket    string
	checksum  string // of the binary last started (or the pin)
	failures  int    // consecutive failed starts or early crashes
}

func newInstance(spec pluginSpec, cfg Config) (*instance, error) {
	dir, err := os.MkdirTemp("", "dezky-plugin-"+spec.name+"-")
	if err != nil {
		return nil, fmt.Errorf("plugin %s: socket dir: %w", spec.name, err)
	}
	return &instance{
		spec:     spec,
		cfg:      cfg,
		log:      cfg.Logger.With("plugin", spec.name),
		scrub:    scrubber(spec.secrets),
		breaker:  newBreaker(cfg.Breaker),
		sockDir:  dir,
		kick:     make(chan struct{}, 1),
		ready:    make(chan struct{}),
		state:    StateStarting,
		checksum: spec.checksum,
	}, nil
}

// run is the supervisor loop; it returns when ctx is done.
func (in *instance) run(ctx context.Context) {
	defer in.stop()
	first := true
	for {
		err := in.start(ctx)
		if first {
			close(in.ready)
			first = false
		}
		if err == nil {
			in.watch(ctx)
		}
		if ctx.Err() != nil {
			return
		}
		delay := in.crashed(err)
		if errors.Is(err, errRefused) {
			in.log.Error("plugin binary refused: checksum mismatch", "retry_in", delay.String(), "error", in.lastError())
		} else {
			in.log.Warn("plugin restart scheduled", "in", delay.String(), "error", in.lastError())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// start launches the process, negotiates the protocol, checks the bound
// capabilities and configures the plugin.
func (in *instance) start(ctx context.Context) error {
	in.mu.Lock()
	if in.state != StateRefused {
		// A refused binary stays refused while it is checked again.
		in.state = StateStarting
	}
	in.mu.Unlock()
	stderr := newLogWriter(in.log.With("stream", "stderr"), in.scrub)
	secure, err := in.secureConfig()
	if err != nil {
		return err
	}
	cc := &plugin.ClientConfig{
		SecureConfig:     secure,
		AutoMTLS:         true,
		HandshakeConfig:  sdk.Handshake(),
		VersionedPlugins: sdk.HostPluginSets(),
		Cmd:              in.command(),
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     in.cfg.StartTimeout,
		Stderr:           stderr,
		SyncStderr:       stderr,
		SyncStdout:       newLogWriter(in.log.With("stream", "stdout"), in.scrub),
		Logger:           hclog.NewNullLogger(),
	}
	if in.cfg.DialOptions != nil {
		cc.GRPCDialOptions = in.cfg.DialOptions(in.spec.name)
	}
	if in.spec.reattach != nil {
		// A plugin in debug mode: attach to it; it was started (and is
		// owned) by the developer.
		// go-plugin does not negotiate on reattach: the version is the
		// one the plugin reported.
		rc := *in.spec.reattach
		set, ok := cc.VersionedPlugins[rc.ProtocolVersion]
		if !ok {
			return fmt.Errorf("reattach %s: protocol %d is not one the host speaks", in.spec.path, rc.ProtocolVersion)
		}
		cc.Reattach, cc.Plugins, cc.VersionedPlugins = &rc, set, nil
		cc.Cmd, cc.SecureConfig, cc.AutoMTLS, cc.SkipHostEnv = nil, nil, false, false
	}
	client := plugin.NewClient(cc)
	remote, desc, err := in.handshake(ctx, client)
	if err != nil {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return in.refusal()
		}
		return fmt.Errorf("start %s: %w", in.spec.path, err)
	}
	in.mu.Lock()
	in.client, in.remote, in.desc = client, remote, desc
	in.pid, in.socket = 0, ""
	if rc := client.ReattachConfig(); rc != nil {
		in.pid = rc.Pid
		if rc.Addr != nil {
			in.socket = rc.Addr.String()
		}
	}
	in.state = StateRunning
	in.startedAt = time.Now()
	in.mu.Unlock()
	in.log.Info("plugin running", "version", desc.Version, "protocol", desc.ProtocolVersion,
		"capabilities", fmt.Sprint(desc.Capabilities), "restarts", in.restartCount())
	return nil
}

func (in *instance) handshake(ctx context.Context, client *plugin.Client) (sdk.Remote, sdk.Description, error) {
	ctx, cancel := context.WithTimeout(ctx, in.cfg.StartTimeout)
	defer cancel()
	rpc, err := client.Client()
	if err != nil {
		return nil, sdk.Description{}, fmt.Errorf("launch: %w", err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		return nil, sdk.Description{}, fmt.Errorf("dispense: %w", err)
	}
	remote, ok := raw.(sdk.Remote)
	if !ok {
		return nil, sdk.Description{}, fmt.Errorf("dispense: unexpected type %T", raw)
	}
	desc, err := remote.Describe(ctx)
	if err != nil {
		return nil, sdk.Description{}, fmt.Errorf("describe: %w", err)
	}
	for _, c := range in.spec.capabilities {
		if !slices.Contains(desc.Capabilities, c) {
			return nil, sdk.Description{}, fmt.Errorf("plugin %q (protocol %d) does not serve capability %s (serves %v)",
				desc.Name, desc.ProtocolVersion, c, desc.Capabilities)
		}
	}
	if err := remote.Configure(ctx, sdk.ConfigureRequest{Settings: in.spec.settings, Secrets: in.spec.secrets}); err != nil {
		return nil, sdk.Description{}, fmt.Errorf("configure: %w", err)
	}
	return remote, desc, nil
}

// errRefused marks a start refused because the binary's checksum does
// not match its pin.
var errRefused = errors.New("plugin binary refused")

// secureConfig returns go-plugin's checksum check for a pinned binary and
// records the checksum of the binary about to start. An unpinned binary
// is hashed for the status report only.
func (in *instance) secureConfig() (*plugin.SecureConfig, error) {
	if in.spec.reattach != nil {
		return nil, nil
	}
	if in.spec.checksum == "" {
		sum, err := reportedChecksum(in.spec.path)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", in.spec.path, err)
		}
		in.mu.Lock()
		in.checksum = sum
		in.mu.Unlock()
		return nil, nil
	}
	want, err := hex.DecodeString(in.spec.checksum)
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("start %s: pinned checksum %q is not a SHA-256 in hex", in.spec.path, in.spec.checksum)
	}
	return &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}, nil
}

// reported caches the checksums of unpinned binaries by path, size and
// modification time. They are only reported, never enforced, so a changed
// binary that kept both is reported with its old sum until it changes
// again; pinned binaries are hashed by go-plugin before every start.
var reported sync.Map // path → reportedSum

type reportedSum struct {
	size    int64
	modTime time.Time
	sum     string
}

// reportedChecksum returns the SHA-256 of the unpinned binary at path,
// hashing it only when it changed since the last call.
func reportedChecksum(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	if v, ok := reported.Load(path); ok {
		if r := v.(reportedSum); r.size == info.Size() && r.modTime.Equal(info.ModTime()) {
			return r.sum, nil
		}
	}
	sum, err := FileSHA256(path)
	if err != nil {
		return "", err
	}
	reported.Store(path, reportedSum{size: info.Size(), modTime: info.ModTime(), sum: sum})
	return sum, nil
}

// refusal builds the error of a start refused by the checksum check,
// naming the checksum found and the one pinned.
func (in *instance) refusal() error {
	found, err := FileSHA256(in.spec.path)
	if err != nil {
		found = "unreadable (" + err.Error() + ")"
	}
	return fmt.Errorf("%w: %s has SHA-256 %s but %s pins %s; not starting it (restore the pinned binary, or run `dezky plugins lock` if the change is intended)",
		errRefused, in.spec.path, found, LockFileName, in.spec.checksum)
}

// command builds the plugin command. The environment is the host's minus
// go-plugin's own variables, plus the socket directory, so the plugin puts
// its unix socket where the supervisor can remove it after a crash.
func (in *instance) command() *exec.Cmd {
	cmd := exec.Command(in.spec.path)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLUGIN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, plugin.EnvUnixSocketDir+"="+in.sockDir)
	return cmd
}

// watch blocks until the running process exits or ctx is done.
func (in *instance) watch(ctx context.Context) {
	t := time.NewTicker(in.cfg.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-in.kick:
		}
		in.mu.Lock()
		exited := in.client == nil || in.client.Exited()
		in.mu.Unlock()
		if exited {
			return
		}
	}
}

// crashed records a failed start (err != nil) or an exited process, drops
// the dead client and returns the backoff delay before the next start.
func (in *instance) crashed(err error) time.Duration {
	in.mu.Lock()
	defer in.mu.Unlock()
	if err == nil {
		err = errors.New("plugin process exited")
		if time.Since(in.startedAt) >= in.cfg.Backoff.Max {
			in.failures = 0
		}
	}
	in.failures++
	in.restarts++
	in.lastErr = in.scrub.Replace(err.Error())
	in.lastErrAt = time.Now()
	in.state = StateRestarting
	if errors.Is(err, errRefused) {
		in.state = StateRefused
	}
	in.dropLocked()
	return in.cfg.Backoff.Delay(in.failures)
}

// dropLocked kills the current client (a go-plugin client is single-use)
// and removes its socket.
func (in *instance) dropLocked() {
	if in.client != nil {
		in.client.Kill()
	}
	in.client, in.remote, in.pid, in.socket = nil, nil, 0, ""
	in.cleanSockets()
}

// cleanSockets removes sockets a killed process left behind. The directory
// starts empty and is cleaned whenever a client is dropped, so each start
// finds it empty.
func (in *instance) cleanSockets() {
	entries, err := os.ReadDir(in.sockDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(in.sockDir, e.Name())); err != nil {
			in.log.Warn("remove stale plugin socket", "error", err)
		}
	}
}

func (in *instance) stop() {
	in.mu.Lock()
	in.dropLocked()
	in.state = StateStopped
	in.mu.Unlock()
	if err := os.RemoveAll(in.sockDir); err != nil {
		in.log.Warn("remove plugin socket dir", "error", err)
	}
	in.log.Info("plugin stopped")
}

func (in *instance) setState(s State) {
	in.mu.Lock()
	in.state = s
	in.mu.Unlock()
}

func (in *instance) restartCount() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.restarts
}

func (in *instance) lastError() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.lastErr
}

// acquire returns the live remote or a typed UNAVAILABLE error.
func (in *instance) acquire() (sdk.Remote, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.remote == nil || in.state != StateRunning {
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Message: fmt.Sprintf("plugin %s is %s", in.spec.name, in.state)}
	}
	return in.remote, nil
}

// invoke runs one call through the breaker with the per-call deadline and
// records its latency and outcome.
func invoke[T any](ctx context.Context, in *instance, op string, fn func(context.Context, sdk.Remote) (T, error)) (T, error) {
	var zero T
	if !in.breaker.allow() {
		return zero, fmt.Errorf("plugin %s: %s: %w", in.spec.name, op,
			&sdk.Error{Code: sdk.CodeUnavailable, Message: "circuit breaker open"})
	}
	remote, err := in.acquire()
	if err != nil {
		in.breaker.done(false)
		return zero, fmt.Errorf("plugin %s: %s: %w", in.spec.name, op, err)
	}
	cctx, cancel := context.WithTimeout(ctx, in.cfg.CallTimeout)
	defer cancel()
	began := time.Now()
	out, err := fn(cctx, remote)
	latency := time.Since(began)
	failed := err != nil && ctx.Err() == nil &&
		(sdk.IsUnavailable(err) || sdk.ErrorCode(err) == sdk.CodeInternal)
	if ctx.Err() != nil {
		// The caller gave up; that says nothing about the plugin.
		in.breaker.release()
	} else {
		in.breaker.done(!failed)
	}
	in.lastLatency.Store(int64(latency))
	if failed {
		in.mu.Lock()
		in.lastErr = in.scrub.Replace(fmt.Sprintf("%s: %v", op, err))
		in.lastErrAt = time.Now()
		in.mu.Unlock()
	}
	if err != nil {
		if msg := err.Error(); in.scrub.Replace(msg) != msg {
			// The plugin echoed a secret; keep the code, drop the value.
			var e *sdk.Error
			if errors.As(err, &e) {
				err = &sdk.Error{Code: e.Code, Message: in.scrub.Replace(e.Message)}
			} else {
				err = &sdk.Error{Code: sdk.ErrorCode(err), Message: in.scrub.Replace(msg)}
			}
		}
		if sdk.IsUnavailable(err) {
			select {
			case in.kick <- struct{}{}:
			default:
			}
		}
		return zero, fmt.Errorf("plugin %s: %s: %w", in.spec.name, op, err)
	}
	return out, nil
}
