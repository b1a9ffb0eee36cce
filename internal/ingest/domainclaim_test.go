package ingest_test

import (
	"net/http"
	"testing"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/ingest"
	"github.com/dezky/platform/internal/testing/testdb"
)

// TestMailEventsByVerifiedDomain: a mail event is attributed to the tenant
// that verified its domain, never to a tenant that only lists or claims
// it; an event of a domain nobody verified has no tenant.
func TestMailEventsByVerifiedDomain(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		h := mailHost(t)
		older := newTenant(t, d, "older", "Older", "shared.test", "pending.test")
		holder := newTenant(t, d, "holder", "Holder", "shared.test")
		pendingDomain(t, d, older, "shared.test")
		pendingDomain(t, d, older, "pending.test")
		verifiedDomain(t, d, holder, "shared.test")
		in := ingest.New(ingest.Config{Client: d.Client, Providers: h, MaxWebhookBody: 4096, Log: quiet})
		body := []byte(`{"events":[` +
			`{"id":"1750517700000009","createdAt":"2025-06-21T14:55:00Z","type":"auth.failed","data":{"accountName":"eve@Shared.Test"}},` +
			`{"id":"1750517700000010","createdAt":"2025-06-21T14:55:01Z","type":"auth.success","data":{"accountName":"bob@pending.test"}}]}`)
		if status, out := post(t, serveWebhook(t, in), body, ""); status != http.StatusOK || out["written"] != float64(2) {
			t.Fatalf("webhook = %d %v", status, out)
		}
		got := byAction(events(t, d, ingest.SourceMail))
		if e := got["stalwart.auth_failed"]; e == nil || e.TenantSlug != "holder" {
			t.Fatalf("event = %+v, want it attributed to the tenant that verified the domain", e)
		}
		if e := got["stalwart.auth_success"]; e == nil || e.TenantID != nil {
			t.Fatalf("event = %+v, want no tenant for a domain only claimed", e)
		}
	})
}
