package graph

import (
	"context"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/tenantsubscription"
)

// tenantSubscription is t's subscription as the viewer may see it: nil
// when it has none or the viewer may not read it (members see no billing).
func (r *Resolver) tenantSubscription(ctx context.Context, t *ent.Tenant) (*ent.TenantSubscription, error) {
	sub, err := r.client.TenantSubscription.Query().Where(tenantsubscription.TenantID(t.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return sub, err
}
