package demoupstreams_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/app/demoupstreams"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/sdk"
)

// TestStandaloneUpstreamsProvision: a dezky server bound to standalone
// upstreams over the network (as the compose stack binds its replicas)
// provisions a tenant through the real authentik, ocis and stalwart
// plugins to OK, and its health checks of identity, mail, storage and DNS
// are not BAD, on both databases.
func TestStandaloneUpstreamsProvision(t *testing.T) {
	plugins := t.TempDir()
	for _, p := range []string{"authentik", "ocis", "stalwart", "dns"} {
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/"+p, p, plugins)
	}
	for _, name := range testdb.Dialects {
		t.Run(name, func(t *testing.T) {
			ups, err := demoupstreams.StartStandalone(context.Background(), demoupstreams.StandaloneConfig{
				AuthentikAddr: "127.0.0.1:0", OCISAddr: "127.0.0.1:0", StalwartAddr: "127.0.0.1:0", DNSAddr: "127.0.0.1:0",
				Token: "sim-token", OCISAuditLog: filepath.Join(t.TempDir(), "ocis-audit.log"),
				DNSZones: []string{"example."}, DNSKeyName: "dezky-test.", DNSSecret: base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer ups.Close()
			bindings := ups.Bindings()
			for _, c := range []sdk.Capability{sdk.CapabilityIdentity, sdk.CapabilityMail, sdk.CapabilityStorage, sdk.CapabilityDNS} {
				if _, ok := bindings[c]; !ok {
					t.Fatalf("no binding for %s: %v", c, bindings)
				}
			}
			cfg := app.ServeConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Demo: true, PluginsDir: plugins,
				Providers: bindings, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if name == dialect.Postgres {
				cfg.DatabaseURL, cfg.Migrate = testdb.EmptyURL(t, dialect.Postgres), true
			}
			s, err := app.Start(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tok, err := app.MintFor(context.Background(), s.DB.Client, s.DevIssuer, "operator", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			query := func(q string) map[string]any {
				t.Helper()
				body, _ := json.Marshal(map[string]any{"query": q})
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				rsp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer rsp.Body.Close()
				var out struct {
					Data   map[string]any
					Errors []any
				}
				if err := json.NewDecoder(rsp.Body).Decode(&out); err != nil || len(out.Errors) > 0 {
					t.Fatalf("%s: %v %v", q, out.Errors, err)
				}
				return out.Data
			}
			query(`mutation { createTenant(input: {slug: "hooli", name: "Hooli Inc.", plan: BUSINESS, seats: 7, domains: ["hooli.example"]}) { slug } }`)
			want := map[string]string{"IDENTITY": "OK", "MAIL": "OK", "STORAGE": "OK", "BILLING": "SKIPPED"}
			deadline := time.Now().Add(2 * time.Minute)
			for {
				rows := query(`{ tenant(slug: "hooli") { provisioning { integration status message } } }`)["tenant"].(map[string]any)["provisioning"].([]any)
				done, ok := true, true
				for _, r := range rows {
					m := r.(map[string]any)
					w, known := want[m["integration"].(string)]
					done = done && m["status"] != "PENDING"
					ok = ok && (!known || m["status"] == w)
				}
				if ok && len(rows) >= len(want) {
					break
				}
				if done || time.Now().After(deadline) {
					t.Fatalf("provisioning: %v", rows)
				}
				time.Sleep(100 * time.Millisecond)
			}
			for {
				services := query(`{ health { services { name status message } } }`)["health"].(map[string]any)["services"].([]any)
				bad := false
				for _, h := range services {
					bad = bad || h.(map[string]any)["status"] == "BAD"
				}
				if !bad && len(services) >= 4 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("health: %v", services)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

// TestUpstreamsCommand runs `dezky-demo upstreams` as a process: it
// refuses to start without a token, serves the simulators on the
// addresses it is given (the Authentik API answers the token and refuses
// a request without it), and stops cleanly on SIGTERM.
func TestUpstreamsCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "dezky-demo")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/dezky/platform/cmd/dezky-demo").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	base := append(os.Environ(),
		"DEZKY_SIM_AUTHENTIK_ADDR=127.0.0.1:0", "DEZKY_SIM_OCIS_ADDR=", "DEZKY_SIM_STALWART_ADDR=", "DEZKY_SIM_DNS_ADDR=",
		"DEZKY_LOG_FORMAT=json")
	refused := exec.Command(bin, "upstreams")
	refused.Env = append(base, "DEZKY_SIM_TOKEN=")
	if out, err := refused.CombinedOutput(); err == nil || !bytes.Contains(out, []byte("token is required")) {
		t.Fatalf("started without a token: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "upstreams")
	cmd.Env = append(base, "DEZKY_SIM_TOKEN=sim-token")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	urlLine := regexp.MustCompile(`"plugin":"authentik","url":"([^"]+)"`)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var url string
	for url == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("upstreams exited before listening")
			}
			if m := urlLine.FindStringSubmatch(l); m != nil {
				url = m[1]
			}
		case <-time.After(time.Minute):
			t.Fatal("upstreams did not start")
		}
	}
	go func() {
		for range lines {
		}
	}()
	get := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, url+"/api/v3/core/users/", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rsp.Body.Close()
		return rsp.StatusCode
	}
	if code := get("sim-token"); code != http.StatusOK {
		t.Fatalf("with the token: %d", code)
	}
	if code := get(""); code == http.StatusOK {
		t.Fatalf("without a token: %d", code)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
