package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// IdempotencyKey remembers the first response to a mutation request sent
// with an Idempotency-Key header, scoped to the caller's subject.
type IdempotencyKey struct{ ent.Schema }

// Mixin of the IdempotencyKey.
func (IdempotencyKey) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, OperatorMixin{}} }

// Fields of the IdempotencyKey.
func (IdempotencyKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("scope").Immutable().NotEmpty(),
		field.String("key").Immutable().NotEmpty().MaxLen(255).Validate(line(0)),
		field.String("request_hash").Immutable(),
		field.Bytes("response").Immutable(),
		field.Time("created_at").Immutable().Default(now),
	}
}

// Indexes of the IdempotencyKey.
func (IdempotencyKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("scope", "key").Unique(), index.Fields("created_at")}
}

// Annotations of the IdempotencyKey.
func (IdempotencyKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the IdempotencyKey: none of its own; BaseMixin and
// OperatorMixin make the records operator-only (requests reach their own
// record through rule.Bypass).
func (IdempotencyKey) Policy() ent.Policy {
	return nil
}
