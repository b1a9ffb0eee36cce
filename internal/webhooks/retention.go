package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/webhookdelivery"
)

// DeliveryRetention is how long delivery attempts are kept for
// webhookDeliveries and redeliverWebhook; older ones are deleted by
// PruneDeliveries. The audit events they carried stay in the audit trail,
// so a receiver can still be brought up to date with auditEvents.
const DeliveryRetention = 30 * 24 * time.Hour

// PruneDeliveries deletes the delivery attempts made before now minus
// DeliveryRetention and returns how many it deleted. ctx must carry the
// system viewer (deliveries are written by the system only).
func PruneDeliveries(ctx context.Context, c *ent.Client, now time.Time) (int, error) {
	n, err := c.WebhookDelivery.Delete().
		Where(webhookdelivery.AttemptedAtLT(now.Add(-DeliveryRetention))).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return n, nil
}
