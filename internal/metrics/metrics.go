// Package metrics is the server's Prometheus instrumentation: GraphQL
// operations, plugin calls and plugin supervision, the job queues, the
// audit chain, ingestion and webhooks, the database pool and the Go
// runtime, on a registry of its own served by Handler (on a listener
// separate from the API, see the serve flag --metrics-addr).
//
// Every family is prefixed dezky_. Label values that come from clients
// (GraphQL operation names) are sanitised and their number is bounded, so
// no client can grow the series without limit.
package metrics

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every family.
const Namespace = "dezky"

// latencyBuckets suit both in-process calls (sub-millisecond) and slow
// upstreams (tens of seconds).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics holds the server's instruments. The zero value is not usable;
// call New.
type Metrics struct {
	reg *prometheus.Registry

	gqlOps      *prometheus.CounterVec
	gqlDuration *prometheus.HistogramVec
	opNames     nameSet

	pluginCalls    *prometheus.CounterVec
	pluginDuration *prometheus.HistogramVec

	ingested *prometheus.CounterVec
	webhooks *prometheus.CounterVec
}

// New returns the instruments registered on a fresh registry, with the Go
// runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg:     reg,
		opNames: nameSet{max: maxOperationNames, names: map[string]bool{}},
		gqlOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "graphql", Name: "operations_total",
			Help: "GraphQL operations by operation name, type (query, mutation, subscription; invalid when rejected before execution) and outcome code (OK or the first error's extensions.code).",
		}, []string{"operation", "type", "code"}),
		gqlDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "graphql", Name: "operation_duration_seconds",
			Help:    "Latency of GraphQL operations until their (first) response, by operation name, type and outcome code.",
			Buckets: latencyBuckets,
		}, []string{"operation", "type", "code"}),
		pluginCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "plugin", Name: "calls_total",
			Help: "Calls to provider plugins by plugin, method (Service/Method) and gRPC status code.",
		}, []string{"plugin", "method", "code"}),
		pluginDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "plugin", Name: "call_duration_seconds",
			Help:    "Latency of calls to provider plugins by plugin, method and gRPC status code.",
			Buckets: latencyBuckets,
		}, []string{"plugin", "method", "code"}),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "ingest", Name: "events_total",
			Help: "Upstream audit events ingested by source and stage (read from the upstream, written to the audit trail).",
		}, []string{"source", "stage"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "webhook", Name: "requests_total",
			Help: "Inbound webhook requests by source and HTTP status code.",
		}, []string{"source", "code"}),
	}
	reg.MustRegister(m.gqlOps, m.gqlDuration, m.pluginCalls, m.pluginDuration, m.ingested, m.webhooks,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: Namespace}))
	return m
}

// Registry is the registry holding every instrument, for further
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Ingested counts one ingestion run's events of source.
func (m *Metrics) Ingested(source string, read, written int) {
	m.ingested.WithLabelValues(source, "read").Add(float64(read))
	m.ingested.WithLabelValues(source, "written").Add(float64(written))
}

// Webhook counts the requests h answers for source by HTTP status.
func (m *Metrics) Webhook(source string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		m.webhooks.WithLabelValues(source, strconv.Itoa(sw.status)).Inc()
	})
}

// statusWriter records the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maxOperationNames bounds the distinct operation names labelled; later
// new names are counted as "other".
const maxOperationNames = 500

// nameSet admits up to max distinct names.
type nameSet struct {
	mu    sync.Mutex
	max   int
	names map[string]bool
}

func (s *nameSet) admit(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names[name] {
		return name
	}
	if len(s.names) >= s.max {
		return "other"
	}
	s.names[name] = true
	return name
}
