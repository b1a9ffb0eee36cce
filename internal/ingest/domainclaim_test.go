package ingest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/ingest"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/testing/testdb"
)

// TestMailEventGoesToTheDomainHolder: when two tenants list the same
// domain (written before domains were claimed), a mail event is
// attributed to the tenant holding the domain's claim, not to whichever
// tenant comes first.
func TestMailEventGoesToTheDomainHolder(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		h := mailHost(t)
		newTenant(t, d, "older", "Older", "shared.test")
		holder := newTenant(t, d, "holder", "Holder", "shared.test")
		if err := d.Client.TenantDomain.Create().SetName("shared.test").SetTenantID(holder.ID).Exec(rule.Bypass(context.Background())); err != nil {
			t.Fatal(err)
		}
		in := ingest.New(ingest.Config{Client: d.Client, Providers: h, MaxWebhookBody: 4096, Log: quiet})
		body := []byte(`{"events":[{"id":"1750517700000009","createdAt":"2025-06-21T14:55:00Z","type":"auth.failed","data":{"accountName":"eve@Shared.Test"}}]}`)
		if status, out := post(t, serveWebhook(t, in), body, ""); status != http.StatusOK || out["written"] != float64(1) {
			t.Fatalf("webhook = %d %v", status, out)
		}
		e := byAction(events(t, d, ingest.SourceMail))["stalwart.auth_failed"]
		if e == nil || e.TenantSlug != "holder" {
			t.Fatalf("event = %+v, want it attributed to the domain holder", e)
		}
	})
}
