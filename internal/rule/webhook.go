package rule

import (
	"context"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/entql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditstream"
	"github.com/dezky/platform/ent/predicate"
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/webhookdelivery"
	"github.com/dezky/platform/ent/webhookendpoint"
	"github.com/dezky/platform/internal/viewer"
)

// Webhook endpoints belong to a scope: a tenant, a partner, or the platform
// (operators only). Who reaches an endpoint:
//   - tenant admins: the endpoints of the tenants they administer;
//   - partner staff: the partner's endpoints and those of its tenants;
//   - operators and the system: all.
//
// Members who are not admins reach none. Deliveries follow their endpoint.

// webhookReach is the predicate of the endpoints v reaches; ok is false
// when v reaches none.
func webhookReach(v *viewer.Viewer) (p predicate.WebhookEndpoint, ok bool) {
	admin := v.TenantIDs(viewer.RoleAdmin)
	partner := 0
	if v != nil {
		partner = v.PartnerID
	}
	if len(admin) == 0 && partner == 0 {
		return nil, false
	}
	return func(s *sql.Selector) {
		var ps []*sql.Predicate
		if len(admin) > 0 {
			ps = append(ps, sql.In(s.C(webhookendpoint.FieldTenantID), ints(admin)...))
		}
		if partner != 0 {
			t := sql.Table(tenant.Table)
			ps = append(ps,
				sql.EQ(s.C(webhookendpoint.FieldPartnerID), partner),
				sql.In(s.C(webhookendpoint.FieldTenantID),
					sql.Select(t.C(tenant.FieldID)).From(t).Where(sql.EQ(t.C(tenant.FieldPartnerID), partner))))
		}
		s.Where(sql.Or(ps...))
	}, true
}

// nothing matches no row.
func nothing(s *sql.Selector) { s.Where(sql.False()) }

// FilterWebhookEndpoints limits endpoint queries to the endpoints the
// viewer reaches.
func FilterWebhookEndpoints() privacy.QueryRule {
	return privacy.WebhookEndpointQueryRuleFunc(func(ctx context.Context, q *ent.WebhookEndpointQuery) error {
		if p, ok := webhookReach(viewer.FromContext(ctx)); ok {
			q.Where(p)
		} else {
			q.Where(nothing)
		}
		return privacy.Skip
	})
}

// FilterWebhookDeliveries limits delivery queries to the deliveries of the
// endpoints the viewer reaches.
func FilterWebhookDeliveries() privacy.QueryRule {
	return privacy.WebhookDeliveryQueryRuleFunc(func(ctx context.Context, q *ent.WebhookDeliveryQuery) error {
		if p, ok := webhookReach(viewer.FromContext(ctx)); ok {
			q.Where(webhookdelivery.HasEndpointWith(p))
		} else {
			q.Where(nothing)
		}
		return privacy.Skip
	})
}

// WebhookEndpointMutation gates endpoint changes by non-operators. Create:
// a TENANT endpoint by an admin of the tenant or staff of its partner, a
// PARTNER endpoint by the partner's staff; PLATFORM endpoints only by
// operators. Update and delete: only endpoints the viewer reaches (others
// match nothing, so they are not found).
func WebhookEndpointMutation() privacy.MutationRule {
	return privacy.WebhookEndpointMutationRuleFunc(func(ctx context.Context, m *ent.WebhookEndpointMutation) error {
		v := viewer.FromContext(ctx)
		if m.Op().Is(ent.OpCreate) {
			scope, _ := m.Scope()
			switch scope {
			case webhookendpoint.ScopeTenant:
				tid, ok := m.TenantID()
				if !ok {
					break
				}
				if r, ok := v.RoleIn(tid); ok && r == viewer.RoleAdmin {
					return privacy.Allow
				}
				if v.PartnerID != 0 {
					// The tenant's partner decides, whatever the viewer may read.
					ok, err := m.Client().Tenant.Query().
						Where(tenant.ID(tid), tenant.PartnerID(v.PartnerID)).Exist(Bypass(ctx))
					if err != nil {
						return err
					}
					if ok {
						return privacy.Allow
					}
				}
			case webhookendpoint.ScopePartner:
				if pid, ok := m.PartnerID(); ok && v.PartnerID != 0 && pid == v.PartnerID {
					return privacy.Allow
				}
			}
			return privacy.Denyf("not allowed to create a %s webhook endpoint here", scope)
		}
		p, ok := webhookReach(v)
		if !ok {
			return privacy.Denyf("not allowed to change webhook endpoints")
		}
		m.Where(p)
		return privacy.Skip
	})
}

// FilterAuditStreams limits audit stream queries to the streams of the
// tenants the viewer administers (operators and the system see all).
func FilterAuditStreams() privacy.QueryRule {
	return filterBy[*ent.AuditStreamFilter](func(v *viewer.Viewer) []entql.P {
		if ids := v.TenantIDs(viewer.RoleAdmin); len(ids) > 0 {
			return []entql.P{entql.FieldIn(auditstream.FieldTenantID, ints(ids)...)}
		}
		return nil
	})
}

// AuditStreamMutation lets tenant admins create, change and delete HTTP
// streams of the tenants they administer; everything else is for
// operators.
func AuditStreamMutation() privacy.MutationRule {
	return privacy.AuditStreamMutationRuleFunc(func(ctx context.Context, m *ent.AuditStreamMutation) error {
		ids := viewer.FromContext(ctx).TenantIDs(viewer.RoleAdmin)
		if len(ids) == 0 {
			return privacy.Denyf("not allowed to change audit streams")
		}
		if m.Op().Is(ent.OpCreate) {
			tid, ok := m.TenantID()
			kind, _ := m.Kind()
			if scope, _ := m.Scope(); !ok || scope != auditstream.ScopeTenant || kind != auditstream.KindHTTP {
				return privacy.Denyf("tenant admins create HTTP streams of their tenant only")
			}
			for _, id := range ids {
				if id == tid {
					return privacy.Allow
				}
			}
			return privacy.Denyf("not an admin of the stream's tenant")
		}
		m.Where(auditstream.TenantIDIn(ids...))
		return privacy.Skip
	})
}
