package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// FlagGeneration counts changes of the flag definitions: every write of a
// Flag bumps it in the write's transaction (Flag's hook), so a replica
// that cached the flags knows from this one row whether they changed
// (package flags).
type FlagGeneration struct{ ent.Schema }

// Mixin of the FlagGeneration.
func (FlagGeneration) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the FlagGeneration.
func (FlagGeneration) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Comment("What is counted; \"flags\" is the one row.").Unique().Immutable().MaxLen(32),
		field.Int64("generation").Comment("Incremented by every change of a flag.").Default(0),
	}
}

// Annotations of the FlagGeneration.
func (FlagGeneration) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the FlagGeneration: bookkeeping of flag writes, which are
// operator-only; everybody may read the counter.
func (FlagGeneration) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{privacy.AlwaysAllowRule()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessPrivileged()},
	}
}
