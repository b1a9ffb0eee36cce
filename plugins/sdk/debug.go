package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/hashicorp/go-plugin"
)

// DebugEnv, when set to a non-empty value, makes Serve start the plugin in
// debug mode (as does a -debug or --debug argument): the process serves
// on its own, without a host launching it, so it can run under a debugger
// (for example `dlv exec ./dezky-provider-acme -- --debug`). It prints
// one line
//
//	DEZKY_PLUGIN_REATTACH='{"acme":{...}}'
//
// to stdout; pass that value to `dezky serve --plugin-reattach` (or export
// the line) and the server attaches to the running process instead of
// launching the binary. Debug mode listens on a unix socket without the
// host's mutual TLS: it is for development only. Interrupt the process to
// end it.
const DebugEnv = "DEZKY_PLUGIN_DEBUG"

// ReattachEnv is the environment variable (and the printed line's name)
// that carries reattach configurations to the server.
const ReattachEnv = "DEZKY_PLUGIN_REATTACH"

// Reattach is how a host reaches a plugin started in debug mode: one
// entry per plugin name in the JSON of ReattachEnv.
type Reattach struct {
	Protocol        string `json:"protocol"`
	ProtocolVersion int    `json:"protocolVersion"`
	Pid             int    `json:"pid"`
	Network         string `json:"network"` // "unix" or "tcp"
	Address         string `json:"address"`
}

// ParseReattach parses the JSON value of ReattachEnv: plugin name →
// Reattach.
func ParseReattach(s string) (map[string]Reattach, error) {
	out := map[string]Reattach{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("plugin reattach: want {\"<plugin>\":{\"protocol\":\"grpc\",\"protocolVersion\":2,\"pid\":…,\"network\":\"unix\",\"address\":\"…\"}}: %w", err)
	}
	for name, r := range out {
		if _, err := r.Config(); err != nil {
			return nil, fmt.Errorf("plugin reattach %q: %w", name, err)
		}
	}
	return out, nil
}

// Config converts r for go-plugin's ClientConfig.Reattach. The host does
// not own a reattached process: stopping the host leaves it to the
// developer.
func (r Reattach) Config() (*plugin.ReattachConfig, error) {
	if r.Protocol != string(plugin.ProtocolGRPC) {
		return nil, fmt.Errorf("protocol %q: only grpc is served", r.Protocol)
	}
	if r.Pid <= 0 {
		return nil, fmt.Errorf("pid %d: want the plugin's process ID", r.Pid)
	}
	var addr net.Addr
	var err error
	switch r.Network {
	case "unix":
		addr, err = net.ResolveUnixAddr("unix", r.Address)
	case "tcp":
		addr, err = net.ResolveTCPAddr("tcp", r.Address)
	default:
		return nil, fmt.Errorf("network %q: want unix or tcp", r.Network)
	}
	if err != nil {
		return nil, err
	}
	return &plugin.ReattachConfig{Protocol: plugin.ProtocolGRPC, ProtocolVersion: r.ProtocolVersion, Addr: addr, Pid: r.Pid, Test: true}, nil
}

// debugRequested reports whether Serve should run in debug mode.
func debugRequested() bool {
	return os.Getenv(DebugEnv) != "" || slices.Contains(os.Args[1:], "--debug") || slices.Contains(os.Args[1:], "-debug")
}

// debugServe runs cfg in go-plugin's test mode until an interrupt,
// printing the reattach line for name.
func debugServe(name string, cfg *plugin.ServeConfig) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	cfg.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed}
	go func() {
		select {
		case rc := <-reattach:
			line, err := json.Marshal(map[string]Reattach{name: {
				Protocol: string(rc.Protocol), ProtocolVersion: rc.ProtocolVersion, Pid: rc.Pid,
				Network: rc.Addr.Network(), Address: rc.Addr.String(),
			}})
			if err != nil {
				fmt.Fprintln(os.Stderr, "debug: encode reattach config:", err)
				return
			}
			fmt.Fprintf(os.Stdout, "# %s serving in debug mode (pid %d). Point the server at it with:\n%s='%s'\n",
				name, rc.Pid, ReattachEnv, line)
		case <-closed:
		}
	}()
	plugin.Serve(cfg)
	<-closed
}
