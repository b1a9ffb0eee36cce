package webhooks_test

import (
	"context"
	"testing"
	"time"

	"github.com/dezky/platform/ent/webhookdelivery"
	"github.com/dezky/platform/ent/webhookendpoint"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/internal/webhooks"
)

// TestPruneDeliveries deletes the attempts older than the retention and
// keeps the rest.
func TestPruneDeliveries(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := viewer.SystemContext(context.Background())
		c := d.Client
		ep := c.WebhookEndpoint.Create().SetScope(webhookendpoint.ScopePlatform).SetURL("https://hooks.example.com/in").
			SetEventTypes([]string{"*"}).SetSecretSealed([]byte("sealed")).SaveX(ctx)
		now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		for i, age := range []time.Duration{webhooks.DeliveryRetention + time.Hour, webhooks.DeliveryRetention - time.Hour, time.Minute} {
			c.WebhookDelivery.Create().SetEndpointID(ep.ID).SetMessageID("msg_" + string(rune('a'+i))).SetEventType("tenant.updated").
				SetKind(webhookdelivery.KindEvent).SetAttempt(1).SetSuccess(true).SetAttemptedAt(now.Add(-age)).ExecX(ctx)
		}
		n, err := webhooks.PruneDeliveries(ctx, c, now)
		if err != nil {
			t.Fatal(err)
		}
		left := c.WebhookDelivery.Query().Order(webhookdelivery.ByMessageID()).AllX(ctx)
		if n != 1 || len(left) != 2 || left[0].MessageID != "msg_b" {
			t.Fatalf("pruned %d, left %d (%v); want 1 pruned, msg_b and msg_c left", n, len(left), left)
		}
		// Only the system prunes.
		if _, err := webhooks.PruneDeliveries(viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "op"}), c, now.Add(60*24*time.Hour)); err == nil {
			t.Fatal("a non-system viewer pruned deliveries")
		}
	})
}
