package conformance

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// transportSuite checks what every plugin owes the host whatever it
// serves: the protocol versions it negotiates, typed UNAVAILABLE errors
// for cancelled and expired calls (after which it keeps serving), and
// parallel calls on one connection.
func transportSuite(t T, h *host.Host, c sdk.Capability, o options) {
	ctx := testContext(t)
	p, err := h.Provider(c)
	must(t, err, "Provider")
	var st host.Status
	for _, s := range h.Status() {
		if slices.Contains(s.Capabilities, c) {
			st = s
		}
	}

	t.Run("Protocols", func(t T) {
		got, err := ProbeProtocols(ctx, st.Path)
		must(t, err, "ProbeProtocols")
		if o.protocols != nil {
			*o.protocols = got
		}
		if len(got) == 0 {
			t.Fatalf("the plugin completed no handshake; the host speaks protocols %v", hostProtocols())
		}
		if negotiated := st.Description.ProtocolVersion; negotiated != got[len(got)-1] {
			t.Errorf("Describe reports protocol %d, want %d, the highest the plugin completed a handshake for (%v)", negotiated, got[len(got)-1], got)
		}
	})

	t.Run("UnservedCapability", func(t T) {
		var unserved []sdk.Capability
		for _, c := range sdk.Capabilities {
			if !slices.Contains(st.Description.Capabilities, c) {
				unserved = append(unserved, c)
			}
		}
		if len(unserved) == 0 {
			t.Skip("the plugin serves every capability")
		}
		err := withRemote(ctx, st.Path, sdk.HostPluginSets(), func(r sdk.Remote) error {
			for _, c := range unserved {
				wantCode(t, callCapability(ctx, r, c), sdk.CodeUnsupported, "a call to unserved capability "+string(c))
			}
			return nil
		})
		must(t, err, "launch")
	})

	t.Run("Cancellation", func(t T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := p.Health(cctx)
		wantCode(t, err, sdk.CodeUnavailable, "Health with a cancelled context")
		_, err = p.Health(ctx)
		must(t, err, "Health after a cancelled call")
	})

	t.Run("Deadline", func(t T) {
		dctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel()
		_, err := p.Health(dctx)
		wantCode(t, err, sdk.CodeUnavailable, "Health past its deadline")
		// A deadline shorter than the host's own reaches the plugin as the
		// gRPC deadline; a prompt plugin answers well within it.
		sctx, cancel2 := context.WithTimeout(ctx, 30*time.Second)
		defer cancel2()
		_, err = p.Health(sctx)
		must(t, err, "Health with a deadline")
	})

	t.Run("Concurrent", func(t T) {
		parallel(t, o.parallel, func(i int) error {
			if i%2 == 0 {
				_, err := p.Describe(ctx)
				return err
			}
			_, err := p.Health(ctx)
			return err
		})
	})
}

// parallel runs fn n times at once and reports every error.
func parallel(t T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("parallel call %d of %d: %v", i+1, n, err)
		}
	}
}

// sameIDs fails unless every ID is the same non-empty value.
func sameIDs(t T, what string, ids []string) {
	t.Helper()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Errorf("%s: %d parallel ensures with one key returned IDs %v, want one object", what, len(ids), ids)
			return
		}
	}
}

func hostProtocols() []int {
	var out []int
	for v := range sdk.HostPluginSets() {
		out = append(out, v)
	}
	sort.Ints(out)
	return out
}

// ProbeProtocols launches the plugin binary at path once per protocol
// version the host speaks, offering only that version, and returns the
// versions for which the handshake and a Describe call succeeded, in
// increasing order. The plugin is not configured.
func ProbeProtocols(ctx context.Context, path string) ([]int, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("probe protocols: %w", err)
	}
	var out []int
	sets := sdk.HostPluginSets()
	for _, v := range hostProtocols() {
		if _, err := describeWith(ctx, path, map[int]plugin.PluginSet{v: sets[v]}); err == nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// Describe launches the plugin binary at path under the host's protocol
// sets (the highest common version wins), calls Describe and stops it.
func Describe(ctx context.Context, path string) (sdk.Description, error) {
	return describeWith(ctx, path, sdk.HostPluginSets())
}

// callCapability makes one read call of capability c.
func callCapability(ctx context.Context, r sdk.Remote, c sdk.Capability) error {
	var err error
	switch c {
	case sdk.CapabilityIdentity:
		_, err = r.GetUser(ctx, "cf-missing-0000")
	case sdk.CapabilityMail:
		_, err = r.GetDomain(ctx, "cf-missing.example.test")
	case sdk.CapabilityStorage:
		_, err = r.GetUsage(ctx, "cf-missing-0000")
	case sdk.CapabilityDNS:
		_, err = r.Lookup(ctx, sdk.LookupRequest{Name: "cf-missing.example.test", Type: "TXT"})
	case sdk.CapabilityBilling:
		_, err = r.GetSubscription(ctx, "cf_missing_0000")
	}
	return err
}

func describeWith(ctx context.Context, path string, sets map[int]plugin.PluginSet) (sdk.Description, error) {
	var d sdk.Description
	err := withRemote(ctx, path, sets, func(r sdk.Remote) error {
		var err error
		d, err = r.Describe(ctx)
		return err
	})
	return d, err
}

// withRemote launches the plugin binary at path, unconfigured, with the
// given protocol sets, runs fn against it and stops it.
func withRemote(ctx context.Context, path string, sets map[int]plugin.PluginSet, fn func(sdk.Remote) error) error {
	cmd := exec.Command(path)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLUGIN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		VersionedPlugins: sets,
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     time.Minute,
		Stderr:           io.Discard,
		Logger:           hclog.NewNullLogger(),
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		return fmt.Errorf("launch %s: %w", path, err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		return fmt.Errorf("dispense: %w", err)
	}
	remote, ok := raw.(sdk.Remote)
	if !ok {
		return fmt.Errorf("dispense: unexpected type %T", raw)
	}
	return fn(remote)
}
