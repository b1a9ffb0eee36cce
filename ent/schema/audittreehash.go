package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// AuditTreeHash is one stored hash of the RFC 6962 Merkle tree over the
// audit chain, in the layout of golang.org/x/mod/sumdb/tlog: id is the
// stored hash index (tlog.StoredHashIndex(level, n)), hash the 32-byte
// SHA-256 node hash. Leaf n (0-based) is the event with seq n+1. Rows are
// appended by the chainer in the transaction that links the events, and
// never updated or deleted (they hold no event data, so they outlive the
// archived hot rows and keep proofs of archived events possible).
type AuditTreeHash struct{ ent.Schema }

// Mixin of the AuditTreeHash.
func (AuditTreeHash) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the AuditTreeHash.
func (AuditTreeHash) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id").Immutable().NonNegative(),
		field.Bytes("hash").Immutable().MinLen(32).MaxLen(32),
	}
}

// Annotations of the AuditTreeHash.
func (AuditTreeHash) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the AuditTreeHash: operators and the system read; only the
// system writes; nobody updates or deletes.
func (AuditTreeHash) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{rule.DenyUnlessPrivileged()},
		Mutation: privacy.MutationPolicy{
			privacy.OnMutationOperation(privacy.AlwaysDenyRule(), ent.OpUpdate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne),
			rule.DenyUnlessSystem(),
		},
	}
}
