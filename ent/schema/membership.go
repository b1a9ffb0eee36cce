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
		// status is the member lifecycle: PENDING until the first
		// provisioning of every integration settled, REMOVING while the
		// teardown runs (the membership no longer grants access).
		field.Enum("status").Comment("Lifecycle of the membership: PENDING until every integration was provisioned once, REMOVING while the teardown runs (it grants no access then).").NamedValues("Pending", "PENDING", "Active", "ACTIVE", "Suspended", "SUSPENDED", "Removing", "REMOVING").
			Default("ACTIVE").
			Annotations(entgql.OrderField("STATUS")),
		// mailbox is the member's mail address on the tenant's primary
		// domain, set once the mailbox exists.
		field.String("mailbox").Comment("The member's mailbox address on the tenant's primary mail domain; null until it exists.").Optional().Nillable().MaxLen(254),
		// want_mailbox and want_storage record what createMember asked for.
		field.Bool("want_mailbox").Default(true).Annotations(entgql.Skip()),
		field.Bool("want_storage").Default(true).Annotations(entgql.Skip()),
		// revision counts lifecycle changes; a provisioning job that saw an
		// older revision runs again.
		field.Int("revision").Default(0).Annotations(entgql.Skip()),
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
		Mutation: privacy.MutationPolicy{rule.AllowIfPrivileged(), rule.MembershipMutation()},
	}
}
