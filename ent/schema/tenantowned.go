package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// tenantIDField is the owning tenant of a tenant-owned row.
func tenantIDField() ent.Field {
	return field.Int("tenant_id").Immutable()
}

// adminPolicy is the policy of tenant-owned administrative data: tenant
// admins, partner staff of the tenant's partner and operators read and
// change it; plain members see nothing.
func adminPolicy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterTenantOwned(false)},
		Mutation: privacy.MutationPolicy{rule.AllowIfPrivileged(), rule.TenantOwnedMutation()},
	}
}
