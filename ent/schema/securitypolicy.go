package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SecurityPolicy is a tenant's security policy. A tenant without a row has
// the defaults (MFA optional, 60 idle minutes, 12 hours per session, no
// country or address restriction). Package tenantadmin validates and
// audits every change.
type SecurityPolicy struct{ ent.Schema }

// Mixin of the SecurityPolicy.
func (SecurityPolicy) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the SecurityPolicy.
func (SecurityPolicy) Fields() []ent.Field {
	return []ent.Field{
		tenantIDField(),
		field.Enum("mfa_mode").NamedValues("Off", "OFF", "Optional", "OPTIONAL", "Required", "REQUIRED").Default("OPTIONAL"),
		field.Int("session_idle_minutes").Range(5, 24*60).Default(60),
		field.Int("session_max_hours").Range(1, 24*30).Default(12),
		// allowed_countries are ISO 3166-1 alpha-2 codes; empty: any country.
		field.Strings("allowed_countries").Default([]string{}),
		// ip_allowlist are canonical CIDR prefixes; empty: any address.
		field.Strings("ip_allowlist").Default([]string{}),
	}
}

// Edges of the SecurityPolicy.
func (SecurityPolicy) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).Field("tenant_id").Unique().Required().Immutable(),
	}
}

// Indexes of the SecurityPolicy: one row per owner.
func (SecurityPolicy) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id").Unique()}
}

// Annotations of the SecurityPolicy.
func (SecurityPolicy) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the SecurityPolicy: tenant admins, the tenant's partner staff
// and operators.
func (SecurityPolicy) Policy() ent.Policy { return adminPolicy() }
