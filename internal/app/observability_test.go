package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/app/demoupstreams"
	"github.com/dezky/platform/internal/logging"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/plugins/conformance"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the JSON log records written so far.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// observedStack is a server with the real identity, storage and mail
// plugins against the in-process simulators, logging JSON at debug level.
type observedStack struct {
	*app.Server
	logs  *syncBuffer
	token string
}

func startObserved(t *testing.T, dialect string, configure func(*app.ServeConfig)) *observedStack {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"authentik", "ocis", "stalwart"} {
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/"+p, p, dir)
	}
	logs := &syncBuffer{}
	log, err := logging.New(logs, logging.FormatJSON, slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.ServeConfig{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: testdb.URL(t, dialect), Demo: true,
		DemoUpstreams: demoupstreams.Start, PluginsDir: dir, Log: log,
	}
	if configure != nil {
		configure(&cfg)
	}
	s, err := app.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tok, err := app.MintFor(context.Background(), s.DB.Client, s.DevIssuer, "operator", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &observedStack{Server: s, logs: logs, token: tok}
}

// gqlResponse is a decoded GraphQL answer with its HTTP header.
type gqlResponse struct {
	Header http.Header
	Data   map[string]any
	Errors []struct {
		Message    string
		Extensions map[string]any
	}
}

// post sends one GraphQL request as the operator with the given extra
// headers.
func (s *observedStack) post(t *testing.T, query string, vars map[string]any, header map[string]string) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	out := gqlResponse{Header: rsp.Header}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: undecodable answer %q", query, b)
	}
	return out
}

// TestRequestIDsInLogsAndErrors: a sane incoming X-Request-Id is kept, an
// unsafe one replaced; the id comes back as a header and in every GraphQL
// error's extensions.requestId; the plugin's forwarded log lines about a
// call made for the request carry it as request_id.
func TestRequestIDsInLogsAndErrors(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) { testRequestIDs(t, dialect) })
	}
}

func testRequestIDs(t *testing.T, dialect string) {
	{
		s := startObserved(t, dialect, nil)

		// A plan reads the tenant's mail domain from the mail plugin
		// while the request runs.
		r := s.post(t, `{ provisioningPlan(slug: "acme") { integration changes message } }`, nil,
			map[string]string{"X-Request-Id": "plan-req-42"})
		if len(r.Errors) > 0 {
			t.Fatalf("provisioningPlan: %v", r.Errors)
		}
		if got := r.Header.Get("X-Request-Id"); got != "plan-req-42" {
			t.Fatalf("X-Request-Id = %q, want the incoming one", got)
		}
		var forwarded bool
		for _, rec := range s.logs.records(t) {
			if rec["plugin"] == "stalwart" && rec["msg"] == "stalwart request" && rec["request_id"] == "plan-req-42" {
				forwarded = true
			}
		}
		if !forwarded {
			t.Errorf("no forwarded stalwart log line carries request_id plan-req-42")
		}

		// Unsafe ids are replaced; errors carry the id.
		for _, incoming := range []string{"", "forged id=1 level=ERROR", strings.Repeat("x", 200)} {
			r := s.post(t, `{ tenant(slug: "no-such-tenant-anywhere") { nope } }`, nil, map[string]string{"X-Request-Id": incoming})
			id := r.Header.Get("X-Request-Id")
			if !logging.ValidRequestID(id) || id == incoming || len(id) != 32 {
				t.Errorf("incoming %q: answered with id %q", incoming, id)
			}
			if len(r.Errors) == 0 {
				t.Fatalf("invalid query answered without errors")
			}
			for _, e := range r.Errors {
				if e.Extensions["requestId"] != id || e.Extensions["code"] == nil {
					t.Errorf("error %q has extensions %v, want requestId %s and a code", e.Message, e.Extensions, id)
				}
			}
		}

		// Errors answered before GraphQL (a bad token) carry it too.
		body, _ := json.Marshal(map[string]any{"query": "{ me { email } }"})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer not-a-token")
		req.Header.Set("X-Request-Id", "bad-token-1")
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var unauth gqlResponse
		_ = json.NewDecoder(rsp.Body).Decode(&unauth)
		rsp.Body.Close()
		if rsp.StatusCode != http.StatusUnauthorized || len(unauth.Errors) != 1 || unauth.Errors[0].Extensions["requestId"] != "bad-token-1" {
			t.Errorf("bad token: status %d, errors %v", rsp.StatusCode, unauth.Errors)
		}
	}
}

// scrape fetches and parses the metrics.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	rsp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	if rsp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(rsp.Body)
		t.Fatalf("GET /metrics: %s: %s", rsp.Status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rsp.Body)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

// series returns the label sets of family name.
func series(fams map[string]*dto.MetricFamily, name string) []map[string]string {
	var out []map[string]string
	if f := fams[name]; f != nil {
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			out = append(out, labels)
		}
	}
	return out
}

// hasSeries reports whether family name has a series with all of want's
// labels.
func hasSeries(fams map[string]*dto.MetricFamily, name string, want map[string]string) bool {
	for _, labels := range series(fams, name) {
		ok := true
		for k, v := range want {
			ok = ok && labels[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}

// TestMetricsScrape: after real operations (a named createTenant through
// provisioning, a rejected query, a plan that calls the mail plugin, an
// unsigned mail webhook), the metrics listener serves every family with
// the expected labels; the API listener does not serve them.
func TestMetricsScrape(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := startObserved(t, dialect, func(c *app.ServeConfig) { c.MetricsAddr = "127.0.0.1:0" })
			if s.MetricsURL == "" || s.MetricsURL == s.URL {
				t.Fatalf("metrics URL %q (API %q)", s.MetricsURL, s.URL)
			}
			r := s.post(t, `mutation CreateHooli($in: CreateTenantInput!) { createTenant(input: $in) { slug } }`,
				map[string]any{"in": map[string]any{"slug": "hooli", "name": "Hooli", "domains": []string{"hooli.example"}}}, nil)
			if len(r.Errors) > 0 {
				t.Fatalf("createTenant: %v", r.Errors)
			}
			if r := s.post(t, `query Broken { nope }`, nil, nil); len(r.Errors) == 0 {
				t.Fatal("invalid query answered without errors")
			}
			if r := s.post(t, `query Plan { provisioningPlan(slug: "acme") { integration } }`, nil, nil); len(r.Errors) > 0 {
				t.Fatalf("provisioningPlan: %v", r.Errors)
			}
			rsp, err := http.Post(s.URL+"/webhooks/mail", "application/json", strings.NewReader(`{"events":[]}`))
			if err != nil {
				t.Fatal(err)
			}
			rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				t.Fatalf("unsigned mail webhook accepted")
			}
			webhookCode := strconv.Itoa(rsp.StatusCode)
			if rsp, err := http.Get(s.URL + "/metrics"); err == nil {
				rsp.Body.Close()
				if rsp.StatusCode == http.StatusOK {
					t.Error("the API listener serves /metrics")
				}
			}

			var fams map[string]*dto.MetricFamily
			deadline := time.Now().Add(time.Minute)
			for {
				fams = scrape(t, s.MetricsURL)
				// Ingestion (identity and storage) runs as jobs at start; wait for
				// the first to finish a run.
				if hasSeries(fams, "dezky_ingest_events_total", map[string]string{"stage": "written"}) || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			checks := []struct {
				family string
				labels map[string]string
			}{
				{"dezky_graphql_operations_total", map[string]string{"operation": "CreateHooli", "type": "mutation", "code": "OK"}},
				{"dezky_graphql_operation_duration_seconds", map[string]string{"operation": "CreateHooli", "type": "mutation", "code": "OK"}},
				{"dezky_graphql_operations_total", map[string]string{"type": "invalid", "code": "GRAPHQL_VALIDATION_FAILED"}},
				{"dezky_graphql_operations_total", map[string]string{"operation": "Plan", "type": "query", "code": "OK"}},
				{"dezky_plugin_calls_total", map[string]string{"plugin": "stalwart", "method": "Mail/GetDomain"}},
				{"dezky_plugin_call_duration_seconds", map[string]string{"plugin": "authentik", "method": "Identity/EnsureGroup", "code": "OK"}},
				{"dezky_plugin_restarts_total", map[string]string{"plugin": "ocis"}},
				{"dezky_plugin_up", map[string]string{"plugin": "stalwart"}},
				{"dezky_plugin_breaker_state", map[string]string{"plugin": "authentik", "state": "closed"}},
				{"dezky_jobs_oldest_available_age_seconds", nil},
				{"dezky_audit_unchained_events", nil},
				{"dezky_audit_last_checkpoint_age_seconds", nil},
				{"dezky_provisioning_jobs_queued", nil},
				{"dezky_state_scrape_errors", nil},
				{"dezky_ingest_events_total", map[string]string{"stage": "read"}},
				{"dezky_ingest_events_total", map[string]string{"stage": "written"}},
				{"dezky_webhook_requests_total", map[string]string{"source": "mail", "code": webhookCode}},
				{"go_sql_open_connections", map[string]string{"db_name": "dezky"}},
				{"go_sql_wait_count_total", map[string]string{"db_name": "dezky"}},
				{"go_goroutines", nil},
				{"go_gc_duration_seconds", nil},
				{"dezky_process_resident_memory_bytes", nil},
			}
			for _, c := range checks {
				if c.labels == nil && fams[c.family] == nil || c.labels != nil && !hasSeries(fams, c.family, c.labels) {
					t.Errorf("no %s series with %v; have %v", c.family, c.labels, series(fams, c.family))
				}
			}
			if v := fams["dezky_state_scrape_errors"]; v != nil && v.Metric[0].GetGauge().GetValue() != 0 {
				t.Errorf("reading the state metrics failed (see log)")
			}
			if v := fams["dezky_plugin_breaker_state"]; v != nil {
				var open float64
				for _, m := range v.Metric {
					for _, l := range m.Label {
						if l.GetName() == "state" && l.GetValue() == "open" {
							open += m.GetGauge().GetValue()
						}
					}
				}
				if open != 0 {
					t.Errorf("a breaker is open")
				}
			}
		})
	}
}
