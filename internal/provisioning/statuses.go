package provisioning

import (
	"context"
	"fmt"
	"maps"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/rule"
)

// StatusesOf is Statuses for many tenants at once, in one statement
// whatever their number: the statuses of each tenant by its id. Callers
// pass tenants they loaded through the viewer's privacy.
func (s *Service) StatusesOf(ctx context.Context, ts []*ent.Tenant) (map[int][]*IntegrationStatus, error) {
	ids := make([]int, 0, len(ts))
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	out := make(map[int][]*IntegrationStatus, len(ts))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.Client(ctx, s.cfg.Client).ProvisioningState.Query().
		// States are system-owned; the caller already saw the tenants.
		Where(provisioningstate.TenantIDIn(ids...)).All(rule.Bypass(ctx))
	if err != nil {
		return nil, fmt.Errorf("provisioning: statuses of %d tenants: %w", len(ids), err)
	}
	byTenant := map[int][]*ent.ProvisioningState{}
	for _, r := range rows {
		byTenant[r.TenantID] = append(byTenant[r.TenantID], r)
	}
	for _, t := range ts {
		out[t.ID] = s.assemble(t, byTenant[t.ID])
	}
	return out, nil
}

// assemble reports every integration of t from its stored state rows: an
// integration without a row is PENDING, or SKIPPED when no plugin serves
// it.
func (s *Service) assemble(t *ent.Tenant, rows []*ent.ProvisioningState) []*IntegrationStatus {
	by := map[Integration]*ent.ProvisioningState{}
	for _, r := range rows {
		by[r.Integration] = r
	}
	out := make([]*IntegrationStatus, 0, len(Integrations))
	for _, i := range Integrations {
		if r, ok := by[i]; ok {
			out = append(out, &IntegrationStatus{Integration: i, Status: r.Status, Message: r.Message, UpdatedAt: r.UpdatedAt, External: maps.Clone(r.External)})
			continue
		}
		st := &IntegrationStatus{Integration: i, Status: StatusPending, Message: "never provisioned: run reconcile", UpdatedAt: t.CreatedAt}
		if !s.configured(i) {
			st.Status, st.Message = StatusSkipped, "not configured"
		}
		out = append(out, st)
	}
	return out
}
