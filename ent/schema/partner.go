package schema

import (
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
	"regexp"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// emailPattern is a deliberately loose address check (one @, a dot in the domain).
var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// Partner is a reseller that brings tenants. Partners are never hard-deleted:
// terminating one sets status TERMINATED.
type Partner struct{ ent.Schema }

// Mixin of the Partner.
func (Partner) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the Partner.
func (Partner) Fields() []ent.Field {
	return []ent.Field{
		field.String("slug").Unique().Immutable().Match(SlugPattern).
			Annotations(entgql.OrderField("SLUG")),
		field.String("name").NotEmpty().MaxLen(120).Validate(line(0)).
			Annotations(entgql.OrderField("NAME")),
		field.String("domain").Optional().Nillable().MaxLen(253).Validate(line(0)),
		field.Enum("status").
			NamedValues("Active", "ACTIVE", "Onboarding", "ONBOARDING", "Suspended", "SUSPENDED", "Terminated", "TERMINATED").
			Default("ACTIVE").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("margin_pct").Default(20).Range(0, 100),
		field.String("contact_name").Optional().Nillable().MaxLen(120).Validate(line(0)),
		field.String("contact_email").Optional().Nillable().Match(emailPattern).Validate(line(254)),
		field.String("contact_phone").Optional().Nillable().MaxLen(40).Validate(line(0)),
		field.String("billing_email").Optional().Nillable().Match(emailPattern).Validate(line(254)),
		field.String("vat_id").Optional().Nillable().MaxLen(40).Validate(line(0)),
		field.String("billing_country").Optional().Nillable().MaxLen(2).Validate(line(0)),
		field.Time("terminated_at").Optional().Nillable(),
	}
}

// Edges of the Partner.
func (Partner) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenants", Tenant.Type).Annotations(entgql.RelayConnection()),
		edge.To("staff", User.Type),
	}
}

// Annotations of the Partner.
func (Partner) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
		entgql.MultiOrder(),
	}
}

// Policy of the Partner. See package rule for the tenancy contract.
func (Partner) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterPartners()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessPrivileged()},
	}
}
