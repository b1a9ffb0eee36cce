package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SsoApp is an OIDC application of a tenant at the identity provider,
// usable by the tenant's group only. Its client secret is never stored.
type SsoApp struct{ ent.Schema }

// Mixin of the SsoApp.
func (SsoApp) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the SsoApp.
func (SsoApp) Fields() []ent.Field {
	return []ent.Field{
		tenantIDField(),
		field.String("name").NotEmpty().MaxLen(80).Validate(line(0)),
		// upstream_id is the identity provider's application id (the
		// application slug at Authentik), unique across tenants.
		field.String("upstream_id").Unique().Immutable().NotEmpty().MaxLen(100).Validate(line(0)),
		field.String("client_id").Immutable().MaxLen(255).Validate(line(0)),
		field.Strings("redirect_uris").Default([]string{}),
	}
}

// Edges of the SsoApp.
func (SsoApp) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).Field("tenant_id").Unique().Required().Immutable(),
	}
}

// Indexes of the SsoApp.
func (SsoApp) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id")}
}

// Annotations of the SsoApp.
func (SsoApp) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the SsoApp: tenant admins, the tenant's partner staff and
// operators.
func (SsoApp) Policy() ent.Policy { return adminPolicy() }
