package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// MemberProvisioning is the recorded outcome of one integration (identity,
// mail, storage) of one tenant member, with the upstream IDs it produced.
// Rows are written in the transaction of the member change that queues
// the integration's job (PENDING) and by that job (as the system); they
// are read through the members service after the membership's visibility
// was checked. They never hold a credential.
type MemberProvisioning struct{ ent.Schema }

// Mixin of the MemberProvisioning.
func (MemberProvisioning) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the MemberProvisioning.
func (MemberProvisioning) Fields() []ent.Field {
	return []ent.Field{
		field.Int("membership_id").Immutable(),
		field.Enum("integration").NamedValues("Identity", "IDENTITY", "Storage", "STORAGE", "Mail", "MAIL").Immutable(),
		field.Enum("status").NamedValues("Pending", "PENDING", "Ok", "OK", "Error", "ERROR", "Skipped", "SKIPPED").
			Default("PENDING"),
		field.String("message").Default(""),
		field.JSON("external", map[string]string{}).Optional(),
		field.Time("updated_at").Default(now).UpdateDefault(now),
	}
}

// Indexes of the MemberProvisioning.
func (MemberProvisioning) Indexes() []ent.Index {
	return []ent.Index{index.Fields("membership_id", "integration").Unique()}
}

// Annotations of the MemberProvisioning.
func (MemberProvisioning) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the MemberProvisioning: operators and the system read, only the
// system writes (a member change writes its PENDING rows through
// rule.Bypass after its own checks).
func (MemberProvisioning) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessSystem()},
	}
}
