package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// Membership links a user to a tenant with a per-tenant role.
type Membership struct{ ent.Schema }

// Mixin of the Membership.
func (Membership) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the Membership.
func (Membership) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("role").Comment("The user's role in the tenant.").NamedValues("Admin", "ADMIN", "Member", "MEMBER").Default("MEMBER"),
		field.Int("user_id").Comment("Database id of the user.").Immutable(),
		field.Int("tenant_id").Comment("Database id of the tenant.").Immutable(),
	}
}

// Edges of the Membership.
func (Membership) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Comment("The member.").Ref("memberships").Field("user_id").Unique().Required().Immutable(),
		edge.From("tenant", Tenant.Type).Comment("The tenant.").Ref("memberships").Field("tenant_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Membership.
func (Membership) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id", "tenant_id").Unique()}
}

// Annotations of the Membership.
func (Membership) Annotations() []schema.Annotation {
	return []schema.Annotation{
		schema.Comment("A user's membership of a tenant, with their role there."),
		entgql.RelayConnection(),
	}
}

// Policy of the Membership. See package rule for the tenancy contract.
func (Membership) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterMemberships()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessPrivileged()},
	}
}
