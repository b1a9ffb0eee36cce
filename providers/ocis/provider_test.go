package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/ocis/ocisapi"
	"github.com/dezky/platform/providers/ocis/ocissim"
	"github.com/dezky/platform/providers/simtest"
)

const testToken = "conformance-access-token"

// TestConformance builds the plugin binary, points it at an oCIS simulator
// writing an audit log and runs the sdk.Storage conformance suite.
func TestConformance(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.log")
	_, srv := simtest.NewOCIS(t, ocissim.Options{Token: testToken, AuditLogPath: audit})
	h := conformance.Launch(t, conformance.Plugin{
		Package:      "github.com/dezky/platform/providers/ocis",
		Name:         "ocis",
		Capabilities: []sdk.Capability{sdk.CapabilityStorage},
		Settings:     map[string]string{"url": srv.URL, "audit_log_path": audit},
		Secrets:      map[string]string{"token": testToken},
	})
	conformance.RunAll(t, h)
}

// TestConformance_InProcess runs the same suite against the provider value and
// checks that the audit lines it reads are the simulator's.
func TestConformance_InProcess(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.log")
	sim, srv := simtest.NewOCIS(t, ocissim.Options{Token: testToken, AuditLogPath: audit})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{
		Settings: map[string]string{"url": srv.URL, "audit_log_path": audit},
		Secrets:  map[string]string{"token": testToken},
	}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	conformance.RunProvider(t, p)
	conformance.RunStorage(t, p)

	page, err := p.ReadAuditLog(t.Context(), sdk.ReadAuditLogRequest{})
	if err != nil || len(page.Lines) == 0 {
		t.Fatalf("ReadAuditLog: %d lines, %v", len(page.Lines), err)
	}
	actions := map[string]bool{}
	for _, l := range page.Lines {
		ev, err := ocisapi.ParseAuditLine([]byte(l))
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		actions[ev.Action] = true
	}
	for _, a := range []string{"space_created", "space_updated", "space_disabled", "space_deleted", "user_created", "user_deleted"} {
		if !actions[a] {
			t.Errorf("audit log lacks %s: %v", a, actions)
		}
	}
	sim.WriteAudit(map[string]any{"Action": "file_create", "User": "u1", "Path": "/x"})
	next, err := p.ReadAuditLog(t.Context(), sdk.ReadAuditLogRequest{Cursor: page.NextCursor})
	if err != nil || len(next.Lines) != 1 {
		t.Fatalf("incremental read: %+v %v", next, err)
	}
}

func TestEnsureSpaceRestoresAndRenames(t *testing.T) {
	_, srv := simtest.NewOCIS(t, ocissim.Options{Token: testToken})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{Settings: map[string]string{"url": srv.URL}, Secrets: map[string]string{"token": testToken}}); err != nil {
		t.Fatal(err)
	}
	s, err := p.EnsureSpace(t.Context(), sdk.EnsureSpaceRequest{TenantKey: "acme", Name: "Acme", QuotaBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.DisableSpace(t.Context(), s.ID); err != nil {
		t.Fatal(err)
	}
	again, err := p.EnsureSpace(t.Context(), sdk.EnsureSpaceRequest{TenantKey: "acme", Name: "Acme Corp", QuotaBytes: 20})
	if err != nil || again.ID != s.ID || again.Disabled || again.Name != "Acme Corp" || again.QuotaBytes != 20 {
		t.Fatalf("ensure after disable: %+v %v", again, err)
	}
	if _, err := p.EnsureSpace(t.Context(), sdk.EnsureSpaceRequest{TenantKey: "x", Name: "a.b"}); !sdk.IsInvalid(err) {
		t.Fatalf("invalid name: %v", err)
	}
	if page, err := (&provider{}).ReadAuditLog(t.Context(), sdk.ReadAuditLogRequest{Cursor: "1:2"}); err != nil || page.NextCursor != "1:2" || len(page.Lines) != 0 {
		t.Fatalf("no audit path: %+v %v", page, err)
	}
}

func TestConfigureWithRefreshToken(t *testing.T) {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("refresh_token") != "svc-refresh" || r.PostForm.Get("client_id") != "ocis-web" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + testToken + `","expires_in":300}`))
	}))
	defer idp.Close()
	_, srv := simtest.NewOCIS(t, ocissim.Options{Token: testToken})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{
		Settings: map[string]string{"url": srv.URL, "oidc_token_url": idp.URL, "oidc_client_id": "ocis-web"},
		Secrets:  map[string]string{"refresh_token": "svc-refresh"},
	}); err != nil {
		t.Fatal(err)
	}
	if h, err := p.Health(t.Context()); err != nil || !h.Healthy {
		t.Fatalf("health: %+v %v", h, err)
	}
	if err := (&provider{}).Configure(t.Context(), sdk.ConfigureRequest{Settings: map[string]string{"url": srv.URL}}); !sdk.IsInvalid(err) {
		t.Fatalf("no credentials: %v", err)
	}
}

func TestHealthFollowsUpstream(t *testing.T) {
	sim, srv := simtest.NewOCIS(t, ocissim.Options{Token: testToken})
	p := &provider{}
	if err := p.Configure(t.Context(), sdk.ConfigureRequest{Settings: map[string]string{"url": srv.URL}, Secrets: map[string]string{"token": testToken}}); err != nil {
		t.Fatal(err)
	}
	sim.SetOutage(502)
	if h, err := p.Health(t.Context()); err != nil || h.Healthy || h.Message == "" {
		t.Fatalf("during outage: %+v %v", h, err)
	}
	if _, err := p.GetUsage(t.Context(), "x"); !sdk.IsUnavailable(err) {
		t.Fatalf("call during outage: %v", err)
	}
	sim.SetOutage(0)
	if h, err := p.Health(t.Context()); err != nil || !h.Healthy {
		t.Fatalf("after outage: %+v %v", h, err)
	}
}
