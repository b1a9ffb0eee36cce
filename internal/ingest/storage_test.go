package ingest_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dezky/platform/ent/ingestcursor"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/ingest"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/ocis/ocissim"
	"github.com/dezky/platform/providers/simtest"
)

func TestStorageIngest(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		logPath := filepath.Join(t.TempDir(), "audit.log")
		sim, srv := simtest.NewOCIS(t, ocissim.Options{Token: "ingest-token", AuditLogPath: logPath, AdminID: "admin-id"})
		h := startHost(t, map[sdk.Capability]host.Binding{
			sdk.CapabilityStorage: {Plugin: "ocis", Settings: map[string]string{"url": srv.URL, "audit_log_path": logPath},
				Secrets: host.Secrets(map[string]string{"token": "ingest-token"})},
		})
		st, err := h.Storage()
		if err != nil {
			t.Fatal(err)
		}
		acme := newTenant(t, d, "acme", "Acme Corp")
		newTenant(t, d, "globex", "Globex")
		newMember(t, d, "jane-uid", "jane@globex.test", mustTenant(t, d, "globex"))

		// The space is created through the plugin, as provisioning does:
		// the simulator logs space_created with the space name.
		sp, err := st.EnsureSpace(ctx, sdk.EnsureSpaceRequest{TenantKey: acme.Slug, Name: "Acme Corp"})
		if err != nil {
			t.Fatal(err)
		}
		sim.WriteAudit(map[string]any{"Action": "file_create", "User": "jane-uid", "Path": "/report.pdf", "FileID": "other$space!item1",
			"Time": "2025-01-02T03:04:05Z"})
		sim.WriteAudit(map[string]any{"Action": "file_read", "User": "jane-uid", "Path": "/report.pdf", "FileID": "other$space!item1"})
		sim.WriteAudit(map[string]any{"Action": "space_quarantined", "SpaceID": sp.ID, "Message": "user 'admin-id' quarantined the space"})

		in := ingest.New(ingest.Config{Client: d.Client, Providers: h, Log: quiet})
		r, err := in.IngestStorage(ctx)
		if err != nil || r.Read != 4 || r.Written != 3 {
			t.Fatalf("tick = %+v, %v; want 4 lines read, 3 written (file_read filtered)", r, err)
		}
		got := byAction(events(t, d, ingest.SourceStorage))
		if len(got) != 3 {
			t.Fatalf("stored actions = %v", got)
		}
		if e := got["ocis.space_created"]; e == nil || e.TenantSlug != "acme" || e.ActorID != "admin-id" || e.ResourceID != sp.ID {
			t.Fatalf("space_created event = %+v (tenant %q)", e, tenantSlug(e))
		}
		if e := got["ocis.file_created"]; e == nil || e.TenantSlug != "globex" || e.ActorEmail != "jane@globex.test" ||
			e.ResourceName != "/report.pdf" || e.At.Format("2006-01-02T15:04:05Z") != "2025-01-02T03:04:05Z" {
			t.Fatalf("file_create event = %+v (tenant %q)", e, tenantSlug(e))
		}
		if e := got["ocis.space_quarantined"]; e == nil || e.ActorID != "admin-id" {
			t.Fatalf("unknown action not mapped to ocis.<raw>: %+v", e)
		}

		// Nothing new, then a restart: nothing read, nothing written.
		if r, err := in.IngestStorage(ctx); err != nil || r.Read != 0 || r.Written != 0 {
			t.Fatalf("second tick = %+v, %v", r, err)
		}
		restarted := ingest.New(ingest.Config{Client: d.Client, Providers: h, Log: quiet})
		if r, err := restarted.IngestStorage(ctx); err != nil || r.Read != 0 || r.Written != 0 {
			t.Fatalf("tick after restart = %+v, %v", r, err)
		}
		sim.WriteAudit(map[string]any{"Action": "file_delete", "User": "jane-uid", "Path": "/report.pdf", "FileID": "other$space!item1"})
		if r, err := restarted.IngestStorage(ctx); err != nil || r.Read != 1 || r.Written != 1 {
			t.Fatalf("tick after a new line = %+v, %v", r, err)
		}

		// Two byte-identical lines (same second, same user, same file) are
		// two events: the provider's line positions tell them apart.
		same := map[string]any{"Action": "file_create", "User": "jane-uid", "Path": "/twice.txt",
			"FileID": "other$space!item2", "Time": "2026-11-27T12:00:00Z"}
		sim.WriteAudit(same)
		sim.WriteAudit(same)
		if r, err := restarted.IngestStorage(ctx); err != nil || r.Read != 2 || r.Written != 2 {
			t.Fatalf("identical lines = %+v, %v; want both written", r, err)
		}

		// Re-reading the whole log writes nothing.
		if err := d.Client.IngestCursor.Update().Where(ingestcursor.Source(ingest.SourceStorage)).SetCursor("").Exec(sys); err != nil {
			t.Fatal(err)
		}
		if r, err := restarted.IngestStorage(ctx); err != nil || r.Read != 7 || r.Written != 0 {
			t.Fatalf("re-read = %+v, %v; want 7 read, nothing written", r, err)
		}
		verifyChain(t, d)
	})
}
