package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/ent/migrate"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/authentik/authentiksim"
	"github.com/dezky/platform/providers/ocis/ocissim"
)

// pluginDir builds the authentik and oCIS provider plugins into a new
// directory (the Go build cache makes later builds cheap).
func pluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"authentik", "ocis"} {
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/"+p, p, dir)
	}
	return dir
}

// upstreamWorld is a server whose identity and storage run through the
// real provider plugin processes against the simulators.
type upstreamWorld struct {
	*testserver.Server
	authentik *authentiksim.Sim
	ocis      *ocissim.Sim
	akURL     string
	token     string
	log       *syncBuffer
}

func startUpstreamWorld(t *testing.T, d string, configure ...func(*app.ServeConfig)) *upstreamWorld {
	t.Helper()
	dir := pluginDir(t)
	w := &upstreamWorld{token: "sim-token-0123456789", log: &syncBuffer{}}
	w.authentik = authentiksim.New(authentiksim.Options{Token: w.token})
	ak := httptest.NewServer(w.authentik)
	t.Cleanup(ak.Close)
	w.akURL = ak.URL
	oc, err := ocissim.New(ocissim.Options{Token: w.token, AuditLogPath: filepath.Join(t.TempDir(), "audit.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = oc.Close() })
	w.ocis = oc
	ocs := httptest.NewServer(oc)
	t.Cleanup(ocs.Close)
	w.Server = testserver.StartWith(t, d, func(c *app.ServeConfig) {
		c.PluginsDir = dir
		c.Providers = app.ProvidersConfig{
			sdk.CapabilityIdentity: {Plugin: "authentik", Settings: map[string]string{"url": ak.URL}, Secrets: map[string]string{"token": w.token}},
			sdk.CapabilityStorage:  {Plugin: "ocis", Settings: map[string]string{"url": ocs.URL}, Secrets: map[string]string{"token": w.token}},
		}
		c.Log = slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		for _, f := range configure {
			f(c)
		}
	})
	return w
}

// akList lists an authentik collection through the simulator's API.
func (w *upstreamWorld) akList(t *testing.T, path string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.akURL+"/api/v3/"+path, nil)
	req.Header.Set("Authorization", "Bearer "+w.token)
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	var page struct{ Results []map[string]any }
	if err := json.NewDecoder(rsp.Body).Decode(&page); err != nil {
		t.Fatalf("list %s: %v", path, err)
	}
	return page.Results
}

// upstreamApps counts the OAuth2 providers and applications at the
// identity provider.
func (w *upstreamWorld) upstreamApps(t *testing.T) (providers, apps, bindings int) {
	t.Helper()
	return len(w.akList(t, "providers/oauth2/")), len(w.akList(t, "core/applications/?superuser_full_list=true")), len(w.akList(t, "policies/bindings/"))
}

// dump renders every row of every table as text.
func dump(t *testing.T, s *testserver.Server) string {
	t.Helper()
	names := make([]string, 0, len(migrate.Tables))
	for _, tbl := range migrate.Tables {
		names = append(names, tbl.Name)
	}
	return dumpTables(t, s, names...)
}

// dumpTables renders every row of the named tables as text.
func dumpTables(t *testing.T, s *testserver.Server, tables ...string) string {
	t.Helper()
	var b strings.Builder
	for _, name := range tables {
		rows, err := s.DB.SQL.Query(fmt.Sprintf(`SELECT * FROM %q ORDER BY id`, name))
		if err != nil {
			t.Fatalf("dump %s: %v", name, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump %s: %v", name, err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v\t", v)
			}
			b.WriteString("\n")
		}
		rows.Close()
	}
	return b.String()
}

type ssoApp struct {
	ID, Name, ClientID string
	RedirectURIs       []string `json:"redirectUris"`
	CreatedAt          string
}

const createSso = `mutation($s: String!, $in: CreateSsoAppInput!) { createSsoApp(tenantSlug: $s, input: $in) { app { id name clientId redirectUris createdAt } clientSecret } }`

// TestSsoApps: through the authentik plugin and simulator, an app is
// created as provider + application + group binding, its secret shown
// once (absent from the database, the audit trail, the logs and an
// Idempotency-Key replay), listed, refused on bad input, rolled back
// upstream when the creation fails half-way or the transaction rolls
// back, and deleted.
func TestSsoApps(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			w := startUpstreamWorld(t, d)
			groups := w.akList(t, "core/groups/?name=tenant-acme")
			if len(groups) != 1 {
				t.Fatalf("tenant group at the identity provider: %v", groups)
			}
			req := testserver.Request{Token: w.Token("admin:acme"), Headers: map[string]string{"Idempotency-Key": "sso-1"}, Query: createSso,
				Variables: map[string]any{"s": "acme", "in": map[string]any{"name": "Acme Wiki", "redirectUris": []string{"https://wiki.acme.example/oidc/callback", "http://localhost:8080/cb"}}}}
			first := w.Do(req)
			var created struct {
				CreateSsoApp struct {
					App          ssoApp
					ClientSecret *string
				}
			}
			first.Decode(t, &created)
			app, secret := created.CreateSsoApp.App, created.CreateSsoApp.ClientSecret
			if secret == nil || len(*secret) < 16 || app.ClientID == "" || app.Name != "Acme Wiki" || len(app.RedirectURIs) != 2 {
				t.Fatalf("created: %s", first.Body)
			}
			if p, a, b := w.upstreamApps(t); p != 1 || a != 1 || b != 1 {
				t.Fatalf("upstream after create: %d providers, %d apps, %d bindings", p, a, b)
			}
			binding := w.akList(t, "policies/bindings/")[0]
			if binding["group"] != groups[0]["pk"] {
				t.Fatalf("app bound to %v, want the tenant group %v", binding["group"], groups[0]["pk"])
			}

			// The replay answers the same app without the secret and
			// creates nothing upstream.
			again := w.Do(req)
			var replayed struct {
				CreateSsoApp struct {
					App          ssoApp
					ClientSecret *string
				}
			}
			again.Decode(t, &replayed)
			if replayed.CreateSsoApp.App.ID != app.ID || replayed.CreateSsoApp.ClientSecret != nil {
				t.Fatalf("replay: %s", again.Body)
			}
			if p, a, _ := w.upstreamApps(t); p != 1 || a != 1 {
				t.Fatalf("replay created upstream objects: %d providers, %d apps", p, a)
			}
			if strings.Contains(dump(t, w.Server), *secret) {
				t.Fatal("the client secret is stored in the database")
			}
			if strings.Contains(w.log.String(), *secret) {
				t.Fatal("the client secret is in the server log")
			}
			if md := auditMetadata(t, w.Server, "tenant.sso_app_created"); len(md) != 1 || md[0]["clientId"] != app.ClientID {
				t.Fatalf("audit: %v", md)
			}

			var list struct{ Tenant struct{ SsoApps []ssoApp } }
			w.Query("partner:northwind", `{ tenant(slug: "acme") { ssoApps { id name clientId redirectUris createdAt } } }`, nil).Decode(t, &list)
			if len(list.Tenant.SsoApps) != 1 || list.Tenant.SsoApps[0].ClientID != app.ClientID {
				t.Fatalf("ssoApps: %+v", list.Tenant.SsoApps)
			}
			if rsp := w.Query("member:acme", `{ tenant(slug: "acme") { ssoApps { id } } }`, nil); rsp.Code() != "FORBIDDEN" {
				t.Fatalf("member lists apps: %s", rsp.Body)
			}

			// Refusals change nothing here or upstream.
			before := countRows(t, w.Server)
			for _, c := range []struct {
				as, code, field string
				in              map[string]any
			}{
				{"admin:acme", "BAD_USER_INPUT", "redirectUris", map[string]any{"name": "X", "redirectUris": []string{"http://wiki.acme.example/cb"}}},
				{"admin:acme", "BAD_USER_INPUT", "redirectUris", map[string]any{"name": "X", "redirectUris": []string{"https://wiki.acme.example/cb#frag"}}},
				{"admin:acme", "BAD_USER_INPUT", "redirectUris", map[string]any{"name": "X", "redirectUris": []string{}}},
				{"admin:acme", "BAD_USER_INPUT", "name", map[string]any{"name": " ", "redirectUris": []string{"https://a.example/cb"}}},
				{"member:acme", "FORBIDDEN", "", map[string]any{"name": "X", "redirectUris": []string{"https://a.example/cb"}}},
				{"admin:globex", "NOT_FOUND", "", map[string]any{"name": "X", "redirectUris": []string{"https://a.example/cb"}}},
			} {
				refusedNoChange(t, w.Server, w.Query(c.as, createSso, map[string]any{"s": "acme", "in": c.in}), c.code, c.field, before)
			}

			// Half-way failure at the identity provider: the binding
			// fails, the provider and application are removed again.
			w.authentik.FailNext(http.MethodPost, "/api/v3/policies/bindings/", http.StatusInternalServerError)
			rsp := w.Query("admin:acme", createSso, map[string]any{"s": "acme", "in": map[string]any{"name": "Half", "redirectUris": []string{"https://half.acme.example/cb"}}})
			refusedNoChange(t, w.Server, rsp, "UNAVAILABLE", "", before)
			if p, a, b := w.upstreamApps(t); p != 1 || a != 1 || b != 1 {
				t.Fatalf("after a half-way failure: %d providers, %d apps, %d bindings upstream", p, a, b)
			}

			// The app is created upstream, then the operation fails on
			// its second field: the transaction rolls back and the
			// upstream app is deleted again.
			rsp = w.Query("admin:acme", `mutation($in: CreateSsoAppInput!) {
				a: createSsoApp(tenantSlug: "acme", input: $in) { clientSecret }
				b: updateSecurityPolicy(tenantSlug: "acme", input: {sessionIdleMinutes: 1}) { mfaMode } }`,
				map[string]any{"in": map[string]any{"name": "Rolled back", "redirectUris": []string{"https://rb.acme.example/cb"}}})
			refusedNoChange(t, w.Server, rsp, "BAD_USER_INPUT", "sessionIdleMinutes", before)
			if p, a, b := w.upstreamApps(t); p != 1 || a != 1 || b != 1 {
				t.Fatalf("after a rolled back transaction: %d providers, %d apps, %d bindings upstream", p, a, b)
			}

			var del struct{ DeleteSsoApp ssoApp }
			w.Query("admin:acme", `mutation($id: ID!) { deleteSsoApp(tenantSlug: "acme", id: $id) { id clientId } }`, map[string]any{"id": app.ID}).Decode(t, &del)
			if del.DeleteSsoApp.ClientID != app.ClientID {
				t.Fatalf("deleted: %+v", del.DeleteSsoApp)
			}
			if p, a, b := w.upstreamApps(t); p != 0 || a != 0 || b != 0 {
				t.Fatalf("after delete: %d providers, %d apps, %d bindings upstream", p, a, b)
			}
			if rsp := w.Query("admin:acme", `mutation($id: ID!) { deleteSsoApp(tenantSlug: "acme", id: $id) { id } }`, map[string]any{"id": app.ID}); rsp.Code() != "NOT_FOUND" {
				t.Fatalf("second delete: %s", rsp.Body)
			}
			if md := auditMetadata(t, w.Server, "tenant.sso_app_deleted"); len(md) != 1 {
				t.Fatalf("delete audit: %v", md)
			}
		})
	}
}

type storageData struct {
	QuotaBytes, UsedBytes int64
	UpdatedAt             string
}

// TestTenantStorage: usage read through the oCIS plugin by the periodic
// job and on demand, and the quota following a plan change through the
// job enqueued with it.
func TestTenantStorage(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			// A short period, so the periodic refresh shows within the test.
			w := startUpstreamWorld(t, d, func(c *app.ServeConfig) { c.StorageRefreshInterval = time.Second })
			ctx := viewer.SystemContext(context.Background())
			space := func(slug string) string {
				tn, err := w.DB.Client.Tenant.Query().Where(tenant.Slug(slug)).Only(ctx)
				if err != nil {
					t.Fatal(err)
				}
				sts, err := w.Provisioning.Statuses(ctx, tn)
				if err != nil {
					t.Fatal(err)
				}
				for _, st := range sts {
					if st.Integration == provisioning.Storage {
						return st.External[provisioning.ExternalSpaceID]
					}
				}
				t.Fatalf("%s has no storage space", slug)
				return ""
			}
			acme, err := w.DB.Client.Tenant.Query().Where(tenant.Slug("acme")).Only(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.ocis.SetUsage(space("acme"), 123456789); err != nil {
				t.Fatal(err)
			}

			// The periodic job reads every tenant's usage.
			if err := w.ocis.SetUsage(space("globex"), 4242); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(time.Minute); ; {
				var g struct {
					Tenant struct{ Storage *storageData }
				}
				w.Query("admin:globex", `{ tenant(slug: "globex") { storage { quotaBytes usedBytes } } }`, nil).Decode(t, &g)
				if g.Tenant.Storage != nil && g.Tenant.Storage.UsedBytes == 4242 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("globex storage never refreshed: %+v", g.Tenant.Storage)
				}
				time.Sleep(100 * time.Millisecond)
			}
			var got struct{ RefreshTenantStorage storageData }
			w.Query("admin:acme", `mutation { refreshTenantStorage(tenantSlug: "acme") { quotaBytes usedBytes updatedAt } }`, nil).Decode(t, &got)
			want := provisioning.DefaultCatalog[acme.Plan].QuotaBytes
			if got.RefreshTenantStorage.UsedBytes != 123456789 || got.RefreshTenantStorage.QuotaBytes != want || got.RefreshTenantStorage.UpdatedAt == "" {
				t.Fatalf("refreshed: %+v, want quota %d", got.RefreshTenantStorage, want)
			}
			var read struct {
				Tenant struct{ Storage *storageData }
			}
			w.Query("partner:northwind", `{ tenant(slug: "acme") { storage { quotaBytes usedBytes } } }`, nil).Decode(t, &read)
			if read.Tenant.Storage == nil || read.Tenant.Storage.UsedBytes != 123456789 {
				t.Fatalf("storage: %+v", read.Tenant.Storage)
			}
			if rsp := w.Query("member:acme", `mutation { refreshTenantStorage(tenantSlug: "acme") { usedBytes } }`, nil); rsp.Code() != "FORBIDDEN" {
				t.Fatalf("member refresh: %s", rsp.Body)
			}
			if md := auditMetadata(t, w.Server, "tenant.storage_refreshed"); len(md) != 1 {
				t.Fatalf("audit: %v", md)
			}

			// A plan change brings the quota along (the job is enqueued
			// with the change) and the stored usage follows.
			w.Query("operator", `mutation { updateTenant(slug: "acme", input: {plan: ENTERPRISE}) { plan } }`, nil).Decode(t, &struct{}{})
			target := provisioning.DefaultCatalog[tenant.PlanEnterprise].QuotaBytes
			deadline := time.Now().Add(time.Minute)
			for {
				w.Query("admin:acme", `{ tenant(slug: "acme") { storage { quotaBytes usedBytes } } }`, nil).Decode(t, &read)
				if read.Tenant.Storage.QuotaBytes == target && read.Tenant.Storage.UsedBytes == 123456789 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("quota after the plan change: %+v, want %d", read.Tenant.Storage, target)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
