package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// AuditSetting is one recorded, never-changing fact about the audit chain,
// keyed by name; for example "sealed_from_seq", the first seq chained in
// the sealed format whose leaves commit to salted hashes of personal data
// (package audit). The chainer writes a setting once, under the chain
// lock; nobody updates or deletes it.
type AuditSetting struct{ ent.Schema }

// Mixin of the AuditSetting.
func (AuditSetting) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the AuditSetting.
func (AuditSetting) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Immutable().NotEmpty().Unique(),
		field.Int64("int_value").Immutable(),
	}
}

// Annotations of the AuditSetting.
func (AuditSetting) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the AuditSetting: operators and the system read; only the
// system writes; nobody updates or deletes.
func (AuditSetting) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{rule.DenyUnlessPrivileged()},
		Mutation: privacy.MutationPolicy{
			privacy.OnMutationOperation(privacy.AlwaysDenyRule(), ent.OpUpdate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne),
			rule.DenyUnlessSystem(),
		},
	}
}
