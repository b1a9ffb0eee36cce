package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/internal/rule"
)

// TenantBranding is a tenant's own branding; unset fields fall back to its
// partner's branding, then to the platform's (package tenantadmin).
type TenantBranding struct{ ent.Schema }

// Mixin of the TenantBranding.
func (TenantBranding) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the TenantBranding.
func (TenantBranding) Fields() []ent.Field {
	return append([]ent.Field{tenantIDField()}, brandingFields()...)
}

// brandingFields are the branding fields shared by tenants and partners.
func brandingFields() []ent.Field {
	return []ent.Field{
		field.String("product_name").Optional().Nillable().MaxLen(80).Validate(line(0)),
		field.String("accent_color").Optional().Nillable().Match(hexColor),
		field.String("logo_url").Optional().Nillable().MaxLen(2048).Validate(line(0)),
		field.JSON("email_templates", []schematype.EmailTemplate{}).Default([]schematype.EmailTemplate{}),
	}
}

// Edges of the TenantBranding.
func (TenantBranding) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).Field("tenant_id").Unique().Required().Immutable(),
	}
}

// Indexes of the TenantBranding: one row per owner.
func (TenantBranding) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id").Unique()}
}

// Annotations of the TenantBranding.
func (TenantBranding) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the TenantBranding: every member of the tenant reads it (the
// product shows it to all); tenant admins, the tenant's partner staff and
// operators change it.
func (TenantBranding) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterTenantOwned(true)},
		Mutation: privacy.MutationPolicy{rule.AllowIfPrivileged(), rule.TenantOwnedMutation()},
	}
}
