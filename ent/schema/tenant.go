package schema

import (
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/rule"
	"regexp"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SlugPattern is the shape of tenant and partner slugs: 3–32 lower-case
// letters, digits and inner hyphens.
var SlugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$`)

// Tenant is a customer organisation. Its slug is the stable public handle.
type Tenant struct{ ent.Schema }

// Mixin of the Tenant.
func (Tenant) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the Tenant.
func (Tenant) Fields() []ent.Field {
	return []ent.Field{
		field.String("slug").Unique().Immutable().Match(SlugPattern).
			Annotations(entgql.OrderField("SLUG")),
		field.String("name").NotEmpty().MaxLen(120).Validate(line(0)).
			Annotations(entgql.OrderField("NAME")),
		field.Enum("plan").
			NamedValues("Free", "FREE", "Starter", "STARTER", "Business", "BUSINESS", "Enterprise", "ENTERPRISE").
			Default("STARTER").
			Annotations(entgql.OrderField("PLAN")),
		field.Int("seats").Default(0).Min(0).Max(1_000_000).
			Annotations(entgql.OrderField("SEATS")),
		field.Enum("status").
			NamedValues("Pending", "PENDING", "Active", "ACTIVE", "Suspended", "SUSPENDED", "Deleted", "DELETED").
			Default("ACTIVE").
			Annotations(entgql.OrderField("STATUS")),
		// domains mirrors the names of the tenant's mail domains (the
		// primary first); the MailDomain rows are the source of truth.
		field.Strings("domains").Default([]string{}).Validate(inputcheck.MaxLen(inputcheck.MaxDomains)).
			Annotations(entgql.Directives(entgql.Deprecated("Use mailDomains: domains are verified objects now. The list still names them (primary first), and the domains input adds pending mail domains."))),
		field.String("industry").Optional().Nillable().MaxLen(80).Validate(line(0)),
		field.String("brand_color").Optional().Nillable().Match(regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)),
		field.Int("partner_id").Optional().Nillable(),
		field.Time("deleted_at").Optional().Nillable(),
	}
}

// Edges of the Tenant.
func (Tenant) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("partner", Partner.Type).Ref("tenants").Field("partner_id").Unique(),
		edge.To("memberships", Membership.Type).
			Annotations(entgql.RelayConnection()),
	}
}

// Indexes of the Tenant.
func (Tenant) Indexes() []ent.Index {
	return []ent.Index{index.Fields("status"), index.Fields("partner_id")}
}

// Annotations of the Tenant.
func (Tenant) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
		entgql.MultiOrder(),
	}
}

// Policy of the Tenant. See package rule for the tenancy contract.
func (Tenant) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterTenants()},
		Mutation: privacy.MutationPolicy{rule.AllowIfPrivileged(), rule.TenantMutation()},
	}
}
