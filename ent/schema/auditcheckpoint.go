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

// AuditCheckpoint is a signed statement that the audit chain's head was
// (head_seq, head_hash) at time at. Checkpoints are written by the system
// (package audit), read by operators, and never updated. head_seq is unique:
// there is at most one checkpoint per chain head.
type AuditCheckpoint struct{ ent.Schema }

// Mixin of the AuditCheckpoint.
func (AuditCheckpoint) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the AuditCheckpoint.
func (AuditCheckpoint) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("head_seq").Immutable().Positive(),
		field.String("head_hash").Immutable().NotEmpty(),
		field.Time("at").Immutable().Default(nowMicro),
		field.String("key_id").Immutable().NotEmpty(),
		field.String("algorithm").Immutable().NotEmpty(),
		// signature is the standard base64 encoding of the signature bytes.
		field.String("signature").Immutable().NotEmpty(),
		field.Enum("reason").Values("startup", "interval", "threshold", "manual").Immutable(),
		// note is the same head as a C2SP tlog-checkpoint signed note
		// (origin, tree size = head_seq, base64 Merkle root, ed25519 note
		// signature); empty for checkpoints written before the Merkle tree.
		field.Text("note").Immutable().Optional(),
	}
}

// Indexes of the AuditCheckpoint.
func (AuditCheckpoint) Indexes() []ent.Index {
	return []ent.Index{index.Fields("head_seq").Unique(), index.Fields("at")}
}

// Annotations of the AuditCheckpoint.
func (AuditCheckpoint) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the AuditCheckpoint: operators and the system read; only the
// system writes; nobody updates.
func (AuditCheckpoint) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{rule.DenyUnlessPrivileged()},
		Mutation: privacy.MutationPolicy{
			privacy.OnMutationOperation(privacy.AlwaysDenyRule(), ent.OpUpdate|ent.OpUpdateOne),
			rule.DenyUnlessSystem(),
		},
	}
}
