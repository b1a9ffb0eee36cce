package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// TenantStorage is the last storage usage read from a tenant's space at
// the storage provider (package tenantadmin refreshes it periodically and
// on demand).
type TenantStorage struct{ ent.Schema }

// Mixin of the TenantStorage.
func (TenantStorage) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the TenantStorage.
func (TenantStorage) Fields() []ent.Field {
	return []ent.Field{
		tenantIDField(),
		// quota_bytes is the space's quota; 0 means unlimited.
		field.Int64("quota_bytes").Min(0),
		field.Int64("used_bytes").Min(0),
		field.Time("updated_at"),
	}
}

// Edges of the TenantStorage.
func (TenantStorage) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).Field("tenant_id").Unique().Required().Immutable(),
	}
}

// Indexes of the TenantStorage: one row per owner.
func (TenantStorage) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id").Unique()}
}

// Annotations of the TenantStorage.
func (TenantStorage) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the TenantStorage: tenant admins, the tenant's partner staff
// and operators.
func (TenantStorage) Policy() ent.Policy { return adminPolicy() }
