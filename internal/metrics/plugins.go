package metrics

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/dezky/platform/plugins/host"
)

// PluginInterceptor returns the gRPC client interceptor counting and
// timing the calls to plugin.
func (m *Metrics) PluginInterceptor(plugin string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		began := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		code := status.Code(err).String()
		name := methodName(method)
		m.pluginCalls.WithLabelValues(plugin, name, code).Inc()
		m.pluginDuration.WithLabelValues(plugin, name, code).Observe(time.Since(began).Seconds())
		return err
	}
}

// methodName turns "/dezky.plugin.v2.Identity/EnsureGroup" into
// "Identity/EnsureGroup".
func methodName(full string) string {
	svc, method, ok := strings.Cut(strings.TrimPrefix(full, "/"), "/")
	if !ok {
		return full
	}
	if i := strings.LastIndexByte(svc, '.'); i >= 0 {
		svc = svc[i+1:]
	}
	return svc + "/" + method
}

// breakerStates are the values of dezky_plugin_breaker_state.
var breakerStates = []host.BreakerState{host.BreakerClosed, host.BreakerHalfOpen, host.BreakerOpen}

// RegisterPlugins adds the supervision state of the plugins status
// reports (host.Host.Status): restarts, process state and circuit breaker
// state, read at every scrape.
func (m *Metrics) RegisterPlugins(status func() []host.Status) {
	m.reg.MustRegister(pluginCollector{status: status})
}

var (
	pluginRestartsDesc = prometheus.NewDesc(Namespace+"_plugin_restarts_total",
		"Restarts of a plugin process (after a crash or a failed start) since the server started.", []string{"plugin"}, nil)
	pluginUpDesc = prometheus.NewDesc(Namespace+"_plugin_up",
		"1 when the plugin process is running and serving calls, else 0 (starting, restarting, refused or stopped).", []string{"plugin"}, nil)
	pluginBreakerDesc = prometheus.NewDesc(Namespace+"_plugin_breaker_state",
		"Circuit breaker of a plugin: 1 for its current state (closed, half-open or open), 0 for the others.", []string{"plugin", "state"}, nil)
)

type pluginCollector struct{ status func() []host.Status }

func (c pluginCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pluginRestartsDesc
	ch <- pluginUpDesc
	ch <- pluginBreakerDesc
}

func (c pluginCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.status() {
		ch <- prometheus.MustNewConstMetric(pluginRestartsDesc, prometheus.CounterValue, float64(st.Restarts), st.Plugin)
		up := 0.0
		if st.State == host.StateRunning {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(pluginUpDesc, prometheus.GaugeValue, up, st.Plugin)
		for _, b := range breakerStates {
			v := 0.0
			if st.Breaker == b {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(pluginBreakerDesc, prometheus.GaugeValue, v, st.Plugin, string(b))
		}
	}
}
