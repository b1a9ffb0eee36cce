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
		field.String("slug").Comment("Unique URL-safe identifier, immutable.").Unique().Immutable().Match(SlugPattern).
			Annotations(entgql.OrderField("SLUG")),
		field.String("name").Comment("Display name.").NotEmpty().MaxLen(120).Validate(line(0)).
			Annotations(entgql.OrderField("NAME")),
		field.String("domain").Comment("The partner's own domain.").Optional().Nillable().MaxLen(253).Validate(line(0)),
		field.Enum("status").Comment("Lifecycle state.").
			NamedValues("Active", "ACTIVE", "Onboarding", "ONBOARDING", "Suspended", "SUSPENDED", "Terminated", "TERMINATED").
			Default("ACTIVE").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("margin_pct").Comment("The partner's margin on its tenants' revenue, 0–100 percent; a change applies from the next month on (margins keeps every version).").Default(20).Range(0, 100),
		field.String("contact_name").Comment("The partner's contact person.").Optional().Nillable().MaxLen(120).Validate(line(0)),
		field.String("contact_email").Comment("The contact person's e-mail address.").Optional().Nillable().Match(emailPattern).Validate(line(254)),
		field.String("contact_phone").Comment("The contact person's phone number.").Optional().Nillable().MaxLen(40).Validate(line(0)),
		field.String("billing_email").Comment("Where the partner's invoices and payout statements go.").Optional().Nillable().Match(emailPattern).Validate(line(254)),
		field.String("vat_id").Comment("The partner's VAT identification number.").Optional().Nillable().MaxLen(40).Validate(line(0)),
		field.String("billing_country").Comment("ISO 3166-1 alpha-2 country code of the billing address.").Optional().Nillable().MaxLen(2).Validate(line(0)),
		field.Time("terminated_at").Comment("When the partner was terminated; null unless status is TERMINATED.").Optional().Nillable(),
	}
}

// Edges of the Partner.
func (Partner) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenants", Tenant.Type).Comment("The partner's customers.").Annotations(entgql.RelayConnection()),
		edge.To("staff", User.Type).Comment("The partner's staff users."),
	}
}

// Annotations of the Partner.
func (Partner) Annotations() []schema.Annotation {
	return []schema.Annotation{
		schema.Comment("A reseller that sells Dezky to its own customers (tenants)."),
		entgql.RelayConnection(),
		entgql.QueryField().Description("Partners the caller can see: operators all, partner staff their own."),
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
