package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/app/demoupstreams"
	"github.com/dezky/platform/plugins/conformance"
)

// TestDemoVerifiesMailDomains starts the embedded demo with the real
// stalwart and dns plugins, the Stalwart simulator and the loopback DNS
// server: the seeded tenants' domains reach VERIFIED on their own, a
// domain added under a demo zone is published and VERIFIED by the add
// itself, and one outside the demo zones stays PENDING listing every
// missing record.
func TestDemoVerifiesMailDomains(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"stalwart", "dns"} {
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/"+p, p, dir)
	}
	s, err := app.Start(context.Background(), app.ServeConfig{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), Demo: true, DemoUpstreams: demoupstreams.Start, PluginsDir: dir,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok, err := app.MintFor(context.Background(), s.DB.Client, s.DevIssuer, "admin:acme", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	type domain struct {
		Name, Status string
		ManagedDns   bool
		Records      []struct{ Purpose, Status string }
	}
	query := func(q string, out any) {
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
		var env struct {
			Data   json.RawMessage
			Errors []any
		}
		if err := json.NewDecoder(rsp.Body).Decode(&env); err != nil || len(env.Errors) > 0 {
			t.Fatalf("%s: %v %v", q, env.Errors, err)
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatal(err)
		}
	}
	const fields = `name status managedDns records { purpose status }`

	deadline := time.Now().Add(time.Minute)
	for {
		var out struct {
			Tenant struct{ MailDomains []domain }
		}
		query(`{ tenant(slug: "acme") { mailDomains { `+fields+` } } }`, &out)
		if len(out.Tenant.MailDomains) == 1 && out.Tenant.MailDomains[0].Status == "VERIFIED" && out.Tenant.MailDomains[0].ManagedDns {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("seeded domain not verified: %+v", out.Tenant.MailDomains)
		}
		time.Sleep(100 * time.Millisecond)
	}

	start := time.Now()
	var added struct{ AddMailDomain domain }
	query(`mutation { addMailDomain(tenantSlug: "acme", name: "newco.example") { `+fields+` } }`, &added)
	took := time.Since(start)
	if added.AddMailDomain.Status != "VERIFIED" || !added.AddMailDomain.ManagedDns {
		t.Fatalf("added demo domain = %+v", added.AddMailDomain)
	}
	t.Logf("demo: addMailDomain newco.example → VERIFIED in %v", took)

	query(`mutation { addMailDomain(tenantSlug: "acme", name: "acme-corp.com") { `+fields+` } }`, &added)
	var missing []string
	for _, r := range added.AddMailDomain.Records {
		if r.Status == "MISSING" {
			missing = append(missing, r.Purpose)
		}
	}
	if added.AddMailDomain.Status != "PENDING" || added.AddMailDomain.ManagedDns || strings.Join(missing, ",") != "OWNERSHIP,MX,SPF,DKIM,DMARC" {
		t.Fatalf("domain outside the demo zones = %+v", added.AddMailDomain)
	}
}
