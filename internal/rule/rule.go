// Package rule holds the ent privacy rules that enforce tenancy.
//
// Every schema composes its policy from these constructors; the rules every
// schema shares are stated once, in ent/schema's BaseMixin (no viewer: deny;
// system: read) and OperatorMixin (operator-only data). The contract:
//   - no viewer in the context: every query and mutation is denied;
//   - operators and the system viewer see and change everything;
//   - everybody else sees only rows of their tenants (by membership) and of
//     their partner's tenants (partner staff), and may change only the rows
//     and fields their role allows. A row outside the viewer's reach is
//     filtered out, so reading it by id yields not-found and changing it
//     matches nothing.
//
// Rules either add predicates and skip, or decide. privacy.Skip is
// equivalent to returning nil.
package rule

import (
	"context"
	"fmt"

	"entgo.io/ent/entql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/viewer"
)

// DenyIfNoViewer denies any operation without a viewer in the context.
func DenyIfNoViewer() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx) == nil {
			return privacy.Denyf("viewer-context is missing")
		}
		return privacy.Skip
	})
}

// AllowIfPrivileged allows operators and the system viewer.
func AllowIfPrivileged() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx).Privileged() {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// AllowIfSystem allows the system viewer (background work).
func AllowIfSystem() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx).IsSystem() {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// AllowIfViewer allows any authenticated (or system) viewer.
func AllowIfViewer() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx) != nil {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// DenyUnlessPrivileged denies everybody who is not an operator or the system.
func DenyUnlessPrivileged() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx).Privileged() {
			return privacy.Allow
		}
		return privacy.Denyf("operator access required")
	})
}

// DenyUnlessSystem denies everybody but the system viewer (used for
// destructive maintenance such as archiving audit rows).
func DenyUnlessSystem() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, _ ent.Mutation) error {
		if viewer.FromContext(ctx).IsSystem() {
			return privacy.Allow
		}
		return privacy.Denyf("system access required")
	})
}

// ints converts tenant ids for entql.
func ints(ids []int) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// or combines predicates; with none it yields a predicate that matches nothing.
func or(ps []entql.P) entql.P {
	switch len(ps) {
	case 0:
		return entql.FieldNil("id") // ids are never NULL: matches nothing
	case 1:
		return ps[0]
	default:
		return entql.Or(ps[0], ps[1], ps[2:]...)
	}
}

// filterBy returns a query rule that limits a query to the rows reach(viewer)
// describes (nothing when it describes none), then skips. F is the entity's
// generated entql filter.
func filterBy[F interface{ Where(entql.P) }](reach func(*viewer.Viewer) []entql.P) privacy.QueryRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		tf, ok := f.(F)
		if !ok {
			return privacy.Denyf("unexpected filter type %T", f)
		}
		tf.Where(or(reach(viewer.FromContext(ctx))))
		return privacy.Skip
	})
}

// FilterTenants limits tenant queries to the viewer's memberships and, for
// partner staff, to the partner's tenants.
func FilterTenants() privacy.QueryRule { return filterBy[*ent.TenantFilter](tenantReach) }

func tenantReach(v *viewer.Viewer) []entql.P {
	var ps []entql.P
	if ids := v.TenantIDs(); len(ids) > 0 {
		ps = append(ps, entql.FieldIn(tenant.FieldID, ints(ids)...))
	}
	if v.PartnerID != 0 {
		ps = append(ps, entql.FieldEQ(tenant.FieldPartnerID, v.PartnerID))
	}
	return ps
}

// Fields a non-operator may change on a tenant, by route of access.
var (
	partnerTenantFields = set(tenant.FieldName, tenant.FieldPlan, tenant.FieldSeats, tenant.FieldStatus,
		tenant.FieldDomains, tenant.FieldIndustry, tenant.FieldBrandColor, tenant.FieldUpdatedAt)
	adminTenantFields = set(tenant.FieldDomains, tenant.FieldIndustry, tenant.FieldBrandColor, tenant.FieldUpdatedAt)
)

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func subset(fields []string, allowed map[string]bool) bool {
	for _, f := range fields {
		if !allowed[f] {
			return false
		}
	}
	return true
}

// TenantMutation gates tenant changes by non-operators: partner staff may
// update their partner's tenants (not re-parent or delete them; suspend and
// resume are allowed), tenant admins may update their own tenant's domains
// and branding. Nobody else, and nothing else.
func TenantMutation() privacy.MutationRule {
	return privacy.TenantMutationRuleFunc(func(ctx context.Context, m *ent.TenantMutation) error {
		v := viewer.FromContext(ctx)
		if !m.Op().Is(ent.OpUpdate | ent.OpUpdateOne) {
			return privacy.Denyf("only operators may %s tenants", m.Op())
		}
		fields := append(m.Fields(), m.ClearedFields()...)
		var ps []entql.P
		if st, ok := m.Status(); v.PartnerID != 0 && subset(fields, partnerTenantFields) &&
			(!ok || st == tenant.StatusActive || st == tenant.StatusSuspended) {
			ps = append(ps, entql.FieldEQ(tenant.FieldPartnerID, v.PartnerID))
		}
		if ids := v.TenantIDs(viewer.RoleAdmin); len(ids) > 0 && subset(fields, adminTenantFields) {
			ps = append(ps, entql.FieldIn(tenant.FieldID, ints(ids)...))
		}
		if len(ps) == 0 {
			return privacy.Denyf("not allowed to change these tenant fields")
		}
		m.Filter().Where(or(ps))
		return privacy.Skip
	})
}

// FilterPartners limits partner queries to the viewer's own partner.
func FilterPartners() privacy.QueryRule {
	return filterBy[*ent.PartnerFilter](func(v *viewer.Viewer) []entql.P {
		if v.PartnerID == 0 {
			return nil
		}
		return []entql.P{entql.FieldEQ("id", v.PartnerID)}
	})
}

// FilterUsers limits user queries to the viewer, the viewer's partner
// colleagues, members of tenants the viewer administers, and members of the
// partner's tenants.
func FilterUsers() privacy.QueryRule {
	return filterBy[*ent.UserFilter](func(v *viewer.Viewer) []entql.P {
		var ps []entql.P
		if v.UserID != 0 {
			ps = append(ps, entql.FieldEQ("id", v.UserID))
		}
		if ids := v.TenantIDs(viewer.RoleAdmin); len(ids) > 0 {
			ps = append(ps, entql.HasEdgeWith("memberships", entql.FieldIn("tenant_id", ints(ids)...)))
		}
		if v.PartnerID != 0 {
			ps = append(ps,
				entql.FieldEQ("partner_id", v.PartnerID),
				entql.HasEdgeWith("memberships", entql.HasEdgeWith("tenant", entql.FieldEQ(tenant.FieldPartnerID, v.PartnerID))))
		}
		return ps
	})
}

// FilterMemberships limits membership queries to the viewer's own
// memberships, all memberships of tenants the viewer administers, and those
// of the partner's tenants.
func FilterMemberships() privacy.QueryRule {
	return filterBy[*ent.MembershipFilter](func(v *viewer.Viewer) []entql.P {
		var ps []entql.P
		if v.UserID != 0 {
			ps = append(ps, entql.FieldEQ("user_id", v.UserID))
		}
		if ids := v.TenantIDs(viewer.RoleAdmin); len(ids) > 0 {
			ps = append(ps, entql.FieldIn("tenant_id", ints(ids)...))
		}
		if v.PartnerID != 0 {
			ps = append(ps, entql.HasEdgeWith("tenant", entql.FieldEQ(tenant.FieldPartnerID, v.PartnerID)))
		}
		return ps
	})
}

// FilterAuditEvents limits audit queries to events of tenants the viewer
// administers and, for partner staff, to events of the partner.
func FilterAuditEvents() privacy.QueryRule { return filterBy[*ent.AuditEventFilter](auditReach) }

func auditReach(v *viewer.Viewer) []entql.P {
	var ps []entql.P
	if ids := v.TenantIDs(viewer.RoleAdmin); len(ids) > 0 {
		ps = append(ps, entql.FieldIn("tenant_id", ints(ids)...))
	}
	if v.PartnerID != 0 {
		ps = append(ps, entql.FieldEQ("partner_id", v.PartnerID))
	}
	return ps
}

// AuditReach names what the AuditEvent query policy lets v see: "all"
// for the privileged, else the predicates FilterAuditEvents adds, written
// out. Viewers with the same reach see the same audit events (the live
// feed shares one read among them).
func AuditReach(v *viewer.Viewer) string {
	if v.Privileged() {
		return "all"
	}
	return fmt.Sprint(auditReach(v))
}

// Bypass returns ctx with the privacy decision Allow, for the one read or
// write on a request path that must look past the viewer's reach (loading
// the caller's own roles, a partner's slug for an audit row, the
// idempotency record of a request). The viewer stays in ctx, so audit rows
// and hooks still see who acted. Pass the result only to that one call and
// say why next to it; background work uses viewer.SystemContext instead.
func Bypass(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}

// FilterTenantOwned limits queries of a tenant-owned entity (one with a
// tenant_id field and a "tenant" edge) to rows of tenants the viewer
// administers (of any tenant the viewer is a member of, with anyMember)
// and, for partner staff, of the partner's tenants.
func FilterTenantOwned(anyMember bool) privacy.QueryRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		f.Where(or(tenantOwnedReach(viewer.FromContext(ctx), anyMember)))
		return privacy.Skip
	})
}

func tenantOwnedReach(v *viewer.Viewer, anyMember bool) []entql.P {
	roles := []viewer.Role{viewer.RoleAdmin}
	if anyMember {
		roles = nil
	}
	var ps []entql.P
	if ids := v.TenantIDs(roles...); len(ids) > 0 {
		ps = append(ps, entql.FieldIn("tenant_id", ints(ids)...))
	}
	if v.PartnerID != 0 {
		ps = append(ps, entql.HasEdgeWith("tenant", entql.FieldEQ(tenant.FieldPartnerID, v.PartnerID)))
	}
	return ps
}

// TenantOwnedMutation gates changes of a tenant-owned entity by
// non-operators: tenant admins change their tenant's rows, partner staff
// the rows of their partner's tenants. A create is checked against the
// tenant it names; updates and deletes match only rows within reach.
func TenantOwnedMutation() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v := viewer.FromContext(ctx)
		if m.Op().Is(ent.OpCreate) {
			val, ok := m.Field("tenant_id")
			id, isInt := val.(int)
			if !ok || !isInt {
				return privacy.Denyf("tenant-owned row without a tenant")
			}
			if r, ok := v.RoleIn(id); ok && r == viewer.RoleAdmin {
				return privacy.Skip
			}
			if v.PartnerID != 0 {
				cm, ok := m.(interface{ Client() *ent.Client })
				if !ok {
					return privacy.Denyf("unexpected mutation type %T", m)
				}
				n, err := cm.Client().Tenant.Query().
					Where(tenant.ID(id), tenant.PartnerID(v.PartnerID)).Count(ctx)
				if err != nil {
					return privacy.Denyf("check the tenant's partner: %v", err)
				}
				if n > 0 {
					return privacy.Skip
				}
			}
			return privacy.Denyf("not allowed to change this tenant's settings")
		}
		ps := tenantOwnedReach(v, false)
		if len(ps) == 0 {
			return privacy.Denyf("not allowed to change tenant settings")
		}
		return privacy.FilterFunc(func(_ context.Context, f privacy.Filter) error {
			f.Where(or(ps))
			return privacy.Skip
		}).EvalMutation(ctx, m)
	})
}

// FilterPartnerOwned limits queries of a partner-owned entity (one with a
// partner_id field) to the viewer's own partner.
func FilterPartnerOwned() privacy.QueryRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		var ps []entql.P
		if v := viewer.FromContext(ctx); v.PartnerID != 0 {
			ps = append(ps, entql.FieldEQ("partner_id", v.PartnerID))
		}
		f.Where(or(ps))
		return privacy.Skip
	})
}

// MembershipMutation gates membership changes by non-operators: tenant
// admins change the memberships of the tenants they administer, partner
// staff those of their partner's tenants. Creating checks the new row's
// tenant; updates and deletes are limited to rows in reach (others match
// nothing). Tenant members change nothing.
func MembershipMutation() privacy.MutationRule {
	return privacy.MembershipMutationRuleFunc(func(ctx context.Context, m *ent.MembershipMutation) error {
		v := viewer.FromContext(ctx)
		admin := v.TenantIDs(viewer.RoleAdmin)
		if m.Op().Is(ent.OpCreate) {
			tid, ok := m.TenantID()
			if !ok {
				return privacy.Denyf("membership without tenant")
			}
			for _, id := range admin {
				if id == tid {
					return privacy.Allow
				}
			}
			if v.PartnerID != 0 {
				// Reading the new row's tenant to compare partners.
				n, err := m.Client().Tenant.Query().Where(tenant.ID(tid), tenant.PartnerID(v.PartnerID)).Count(Bypass(ctx))
				if err != nil {
					return privacy.Denyf("check tenant: %v", err)
				}
				if n > 0 {
					return privacy.Allow
				}
			}
			return privacy.Denyf("not allowed to add members to this tenant")
		}
		var ps []entql.P
		if len(admin) > 0 {
			ps = append(ps, entql.FieldIn("tenant_id", ints(admin)...))
		}
		if v.PartnerID != 0 {
			ps = append(ps, entql.HasEdgeWith("tenant", entql.FieldEQ(tenant.FieldPartnerID, v.PartnerID)))
		}
		if len(ps) == 0 {
			return privacy.Denyf("not allowed to change memberships")
		}
		m.Filter().Where(or(ps))
		return privacy.Skip
	})
}

// PartnerOwnedMutation lets partner staff change their own partner's rows
// of a partner-owned entity, and nothing else.
func PartnerOwnedMutation() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v := viewer.FromContext(ctx)
		if v.PartnerID == 0 {
			return privacy.Denyf("partner staff only")
		}
		if m.Op().Is(ent.OpCreate) {
			if val, ok := m.Field("partner_id"); ok && val == any(v.PartnerID) {
				return privacy.Skip
			}
			return privacy.Denyf("not allowed to change this partner's settings")
		}
		return privacy.FilterFunc(func(_ context.Context, f privacy.Filter) error {
			f.Where(entql.FieldEQ("partner_id", v.PartnerID))
			return privacy.Skip
		}).EvalMutation(ctx, m)
	})
}

// UserMutation gates user changes by non-operators: tenant admins and
// partner staff may create plain users (never a platform admin; partner
// staff only for their own partner), and partner staff may attach users of
// no partner to their own partner, change their staff's access level and
// detach them. Nothing else. (Whether the viewer is the partner's ADMIN
// staff is the members service's check: the viewer carries no access
// level.)
func UserMutation() privacy.MutationRule {
	return privacy.UserMutationRuleFunc(func(ctx context.Context, m *ent.UserMutation) error {
		v := viewer.FromContext(ctx)
		if admin, ok := m.PlatformAdmin(); ok && admin {
			return privacy.Denyf("only operators may create platform admins")
		}
		pid, hasPartner := m.PartnerID()
		switch {
		case m.Op().Is(ent.OpCreate):
			if hasPartner {
				if v.PartnerID != 0 && pid == v.PartnerID {
					return privacy.Allow
				}
				return privacy.Denyf("not allowed to add staff to this partner")
			}
			if v.PartnerID != 0 || len(v.TenantIDs(viewer.RoleAdmin)) > 0 {
				return privacy.Allow
			}
			return privacy.Denyf("not allowed to create users")
		case m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) && v.PartnerID != 0 &&
			subset(append(m.Fields(), m.ClearedFields()...), set("partner_id", "access_level", "updated_at")):
			if hasPartner {
				// Joining the viewer's partner: only users of no partner.
				if pid != v.PartnerID {
					return privacy.Denyf("not allowed to add staff to this partner")
				}
				m.Filter().Where(entql.FieldNil("partner_id"))
			} else {
				m.Filter().Where(entql.FieldEQ("partner_id", v.PartnerID))
			}
			return privacy.Skip
		}
		return privacy.Denyf("operator access required")
	})
}

// FilterMailDomains limits mail domain queries to the domains of the
// viewer's tenants (any role) and, for partner staff, of the partner's
// tenants.
func FilterMailDomains() privacy.QueryRule {
	return filterBy[*ent.MailDomainFilter](func(v *viewer.Viewer) []entql.P {
		var ps []entql.P
		if ids := v.TenantIDs(); len(ids) > 0 {
			ps = append(ps, entql.FieldIn("tenant_id", ints(ids)...))
		}
		if v.PartnerID != 0 {
			ps = append(ps, entql.HasEdgeWith("tenant", entql.FieldEQ(tenant.FieldPartnerID, v.PartnerID)))
		}
		return ps
	})
}

// MailDomainMutation lets tenant admins and the staff of the tenant's
// partner add, change and remove the tenant's mail domains; members and
// everybody else are denied. Changes to existing rows are limited to the
// rows in reach; a new row must name a tenant in reach.
func MailDomainMutation() privacy.MutationRule {
	return privacy.MailDomainMutationRuleFunc(func(ctx context.Context, m *ent.MailDomainMutation) error {
		v := viewer.FromContext(ctx)
		admin := v.TenantIDs(viewer.RoleAdmin)
		if m.Op().Is(ent.OpCreate) {
			tid, ok := m.TenantID()
			if !ok {
				return privacy.Denyf("mail domain without a tenant")
			}
			for _, id := range admin {
				if id == tid {
					return privacy.Skip
				}
			}
			if v.PartnerID != 0 {
				// The tenant's partner decides; the viewer may not see the
				// tenant row itself through its own filter here.
				ok, err := m.Client().Tenant.Query().Where(tenant.ID(tid), tenant.PartnerID(v.PartnerID)).
					Exist(privacy.DecisionContext(ctx, privacy.Allow))
				if err != nil {
					return privacy.Denyf("look up the tenant's partner: %v", err)
				}
				if ok {
					return privacy.Skip
				}
			}
			return privacy.Denyf("not allowed to add mail domains to this tenant")
		}
		var ps []entql.P
		if len(admin) > 0 {
			ps = append(ps, entql.FieldIn("tenant_id", ints(admin)...))
		}
		if v.PartnerID != 0 {
			ps = append(ps, entql.HasEdgeWith("tenant", entql.FieldEQ(tenant.FieldPartnerID, v.PartnerID)))
		}
		if len(ps) == 0 {
			return privacy.Denyf("not allowed to change mail domains")
		}
		m.Filter().Where(or(ps))
		return privacy.Skip
	})
}

// FilterUserOwned limits queries of a user-owned entity (one with a
// user_id field) to the viewer's own rows; the system sees every row.
func FilterUserOwned() privacy.QueryRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		v := viewer.FromContext(ctx)
		if v.IsSystem() {
			return privacy.Skip
		}
		var ps []entql.P
		if v != nil && v.UserID != 0 {
			ps = append(ps, entql.FieldEQ("user_id", v.UserID))
		}
		f.Where(or(ps))
		return privacy.Skip
	})
}

// UserOwnedMutation lets a user create and change their own rows of a
// user-owned entity, and nothing else; the system changes every row.
func UserOwnedMutation() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v := viewer.FromContext(ctx)
		if v.IsSystem() {
			return privacy.Allow
		}
		if v == nil || v.UserID == 0 {
			return privacy.Denyf("a signed-in user only")
		}
		if m.Op().Is(ent.OpCreate) {
			if val, ok := m.Field("user_id"); ok && val == any(v.UserID) {
				return privacy.Allow
			}
			return privacy.Denyf("not allowed to create rows of another user")
		}
		return privacy.FilterFunc(func(_ context.Context, f privacy.Filter) error {
			f.Where(entql.FieldEQ("user_id", v.UserID))
			return privacy.Allow
		}).EvalMutation(ctx, m)
	})
}
