package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// TenantDomain is a tenant's claim on a domain name. The unique name makes
// the database enforce that a domain belongs to at most one tenant, also
// under concurrent claims. Package tenancy keeps the claims equal to each
// tenant's normalised domains list, in the same transaction.
type TenantDomain struct{ ent.Schema }

// Mixin of the TenantDomain.
func (TenantDomain) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, OperatorMixin{}} }

// Fields of the TenantDomain.
func (TenantDomain) Fields() []ent.Field {
	return []ent.Field{
		// name is normalised: lower-case ASCII (IDNA), no trailing dot.
		field.String("name").Unique().Immutable().NotEmpty().MaxLen(253).Validate(line(0)),
		field.Int("tenant_id").Immutable(),
		field.Time("created_at").Immutable().Default(now),
	}
}

// Indexes of the TenantDomain.
func (TenantDomain) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id")}
}

// Annotations of the TenantDomain.
func (TenantDomain) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the TenantDomain: none of its own; BaseMixin and OperatorMixin
// make the claims operator-only (package tenancy writes a tenant admin's
// claims through rule.Bypass, after its own checks).
func (TenantDomain) Policy() ent.Policy {
	return nil
}
