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
		field.String("subject").Unique().Immutable().NotEmpty().MaxLen(255),
		field.String("email").MaxLen(254).
			Annotations(entgql.OrderField("EMAIL")),
		field.String("name").Default("").MaxLen(120).
			Annotations(entgql.OrderField("NAME")),
		field.Bool("platform_admin").Default(false),
		field.Bool("active").Default(true),
		field.Int("partner_id").Optional().Nillable(),
		field.Time("last_login_at").Optional().Nillable(),
		// access_level is the partner staff level (ADMIN manages the
		// partner's team); unset for users who are not partner staff.
		field.Enum("access_level").NamedValues("Admin", "ADMIN", "Staff", "STAFF").Optional().Nillable(),
		// identity_id is the user's ID at the identity provider, set once
		// the SSO user exists.
		field.String("identity_id").Optional().Nillable().MaxLen(255).Annotations(entgql.Skip()),
	}
}

// Edges of the User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("partner", Partner.Type).Ref("staff").Field("partner_id").Unique(),
		edge.To("memberships", Membership.Type),
	}
}

// Annotations of the User.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
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
