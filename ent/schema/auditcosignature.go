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

// AuditCosignature is a witness's C2SP tlog-cosignature of the checkpoint
// of head_seq: the witness's statement that it verified that tree to be
// consistent with every tree of the log it saw before. Written by the
// system when a witness answers add-checkpoint, never updated.
type AuditCosignature struct{ ent.Schema }

// Mixin of the AuditCosignature.
func (AuditCosignature) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the AuditCosignature.
func (AuditCosignature) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("head_seq").Immutable().Positive(),
		// witness is the add-checkpoint URL the checkpoint was submitted to.
		field.String("witness").Immutable().NotEmpty(),
		// name is the witness key name of the signature line.
		field.String("name").Immutable().NotEmpty(),
		// line is the note signature line ("— <name> <base64>") as returned.
		field.Text("line").Immutable().NotEmpty(),
		field.Time("at").Immutable().Default(nowMicro),
	}
}

// Indexes of the AuditCosignature.
func (AuditCosignature) Indexes() []ent.Index {
	return []ent.Index{index.Fields("head_seq", "witness", "name").Unique(), index.Fields("witness", "head_seq")}
}

// Annotations of the AuditCosignature.
func (AuditCosignature) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the AuditCosignature: operators and the system read; only the
// system writes; nobody updates.
func (AuditCosignature) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{rule.DenyUnlessPrivileged()},
		Mutation: privacy.MutationPolicy{
			privacy.OnMutationOperation(privacy.AlwaysDenyRule(), ent.OpUpdate|ent.OpUpdateOne),
			rule.DenyUnlessSystem(),
		},
	}
}
