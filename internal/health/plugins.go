package health

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/host"
)

// PluginState is a supervised plugin's lifecycle state as GraphQL shows
// it: the host.State in upper case.
type PluginState string

// The plugin states.
const (
	PluginStarting   PluginState = "STARTING"
	PluginRunning    PluginState = "RUNNING"
	PluginRestarting PluginState = "RESTARTING"
	PluginRefused    PluginState = "REFUSED"
	PluginStopped    PluginState = "STOPPED"
)

// MarshalGQL implements graphql.Marshaler.
func (s PluginState) MarshalGQL(w io.Writer) { io.WriteString(w, strconv.Quote(string(s))) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (s *PluginState) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("plugin state must be a string")
	}
	switch PluginState(str) {
	case PluginStarting, PluginRunning, PluginRestarting, PluginRefused, PluginStopped:
		*s = PluginState(str)
		return nil
	}
	return fmt.Errorf("%q is not a plugin state", str)
}

// Plugin is what operators see of one supervised provider plugin.
type Plugin struct {
	Name         string
	Version      string // reported by the process; "" before its first start
	Protocol     int    // negotiated; 0 before the first start
	Capabilities []string
	State        PluginState
	Restarts     int
	LastError    *string // nil when none; never contains secret values
	Checksum     *string // SHA-256 of the binary last started (or pinned); nil when unknown
	Pinned       bool
}

// Plugins reports the supervised plugins without calling them, sorted by
// name; empty when none are configured. Operators only.
func (c *Checker) Plugins(ctx context.Context) ([]*Plugin, error) {
	// Not an entity: the plugin host's state, so no schema says it.
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	if c.cfg.Plugins == nil {
		return []*Plugin{}, nil
	}
	return pluginsFrom(c.cfg.Plugins.Status()), nil
}

func pluginsFrom(sts []host.Status) []*Plugin {
	out := make([]*Plugin, 0, len(sts))
	for _, st := range sts {
		p := &Plugin{
			Name: st.Plugin, Version: st.Description.Version, Protocol: st.Description.ProtocolVersion,
			State: PluginState(strings.ToUpper(string(st.State))), Restarts: st.Restarts, Pinned: st.Pinned,
		}
		for _, c := range st.Capabilities {
			p.Capabilities = append(p.Capabilities, string(c))
		}
		if st.LastError != "" {
			p.LastError = &st.LastError
		}
		if st.Checksum != "" {
			p.Checksum = &st.Checksum
		}
		out = append(out, p)
	}
	return out
}
