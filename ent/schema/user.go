package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// User is a person known to the platform, keyed by the OIDC subject.
// Tenant roles live on memberships; platform_admin alone never makes an
// operator (the token must also carry the operator audience).
type User struct{ ent.Schema }

// Mixin of the User.
func (User) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("subject").Comment("The OIDC subject (sub claim) of the user's tokens.").Unique().Immutable().NotEmpty().MaxLen(255).Validate(line(0)),
		field.String("email").Comment("E-mail address.").MaxLen(254).Validate(line(0)).
			Annotations(entgql.OrderField("EMAIL")),
		field.String("name").Comment("Display name; empty when unknown.").Default("").MaxLen(120).Validate(line(0)).
			Annotations(entgql.OrderField("NAME")),
		field.Bool("platform_admin").Comment("Whether the user is a platform operator (with a token of the operator audience).").Default(false),
		field.Bool("active").Comment("False when the account is switched off: its tokens are refused.").Default(true),
		field.Int("partner_id").Comment("Database id of the partner the user is staff of; null when none.").Optional().Nillable(),
		field.Time("last_login_at").Comment("When the user last signed in to the API; null when never.").Optional().Nillable(),
		// access_level is the partner staff level (ADMIN manages the
		// partner's team); unset for users who are not partner staff.
		field.Enum("access_level").Comment("Partner staff level: ADMIN manages the partner's team; null for users who are not partner staff.").NamedValues("Admin", "ADMIN", "Staff", "STAFF").Optional().Nillable(),
		// identity_id is the user's ID at the identity provider, set once
		// the SSO user exists.
		field.String("identity_id").Optional().Nillable().MaxLen(255).Annotations(entgql.Skip()),
	}
}

// Edges of the User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("partner", Partner.Type).Comment("The partner the user is staff of; null when none.").Ref("staff").Field("partner_id").Unique(),
		edge.To("memberships", Membership.Type).Comment("The user's tenant memberships."),
	}
}

// Annotations of the User.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{
		schema.Comment("A person known to the platform, keyed by the OIDC subject of their tokens."),
		entgql.RelayConnection(),
		entgql.QueryField().Description("Users the caller can see: themself, partner colleagues, members of tenants they administer or their partner serves; operators all."),
		entgql.MultiOrder(),
	}
}

// Policy of the User. See package rule for the tenancy contract.
func (User) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterUsers()},
		Mutation: privacy.MutationPolicy{rule.AllowIfPrivileged(), rule.UserMutation()},
	}
}
