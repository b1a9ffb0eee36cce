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
		field.String("slug").Comment("Unique URL-safe identifier, immutable and reserved forever.").Unique().Immutable().Match(SlugPattern).
			Annotations(entgql.OrderField("SLUG")),
		field.String("name").Comment("Display name.").NotEmpty().MaxLen(120).Validate(line(0)).
			Annotations(entgql.OrderField("NAME")),
		field.Enum("plan").Comment("The subscribed plan.").
			NamedValues("Free", "FREE", "Starter", "STARTER", "Business", "BUSINESS", "Enterprise", "ENTERPRISE").
			Default("STARTER").
			Annotations(entgql.OrderField("PLAN")),
		field.Int("seats").Comment("Licensed seats.").Default(0).Min(0).Max(1_000_000).
			Annotations(entgql.OrderField("SEATS")),
		field.Enum("status").Comment("Lifecycle state.").
			NamedValues("Pending", "PENDING", "Active", "ACTIVE", "Suspended", "SUSPENDED", "Deleted", "DELETED").
			Default("ACTIVE").
			Annotations(entgql.OrderField("STATUS")),
		// domains mirrors the names of the tenant's mail domains (the
		// primary first); the MailDomain rows are the source of truth.
		field.Strings("domains").Comment("The names of the tenant's mail domains, primary first (see mailDomains).").Default([]string{}).Validate(inputcheck.MaxLen(inputcheck.MaxDomains)).
			Annotations(entgql.Directives(entgql.Deprecated("Use mailDomains: domains are verified objects now. The list still names them (primary first), and the domains input adds pending mail domains."))),
		field.String("industry").Comment("Free-text industry, for reporting.").Optional().Nillable().MaxLen(80).Validate(line(0)),
		field.String("brand_color").Comment("Brand colour as #rrggbb.").Optional().Nillable().Match(regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)),
		field.Int("partner_id").Comment("Database id of the partner (reseller) the tenant belongs to; null for direct customers.").Optional().Nillable(),
		field.Time("deleted_at").Comment("When the tenant was deleted; null unless status is DELETED.").Optional().Nillable(),
	}
}

// Edges of the Tenant.
func (Tenant) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("partner", Partner.Type).Comment("The partner (reseller) the tenant belongs to; null for direct customers.").Ref("tenants").Field("partner_id").Unique(),
		edge.To("memberships", Membership.Type).Comment("The tenant's members with their roles.").
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
		schema.Comment("A customer organisation. Its slug is the stable public handle."),
		entgql.RelayConnection(),
		entgql.QueryField().Description("Tenants the caller can see: operators all, partner staff their partner's, members their own."),
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
