package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// BaseMixin carries the policy every schema starts with; it is listed
// first, so its rules run before the schema's own:
//   - nothing at all without a viewer in the context;
//   - the system viewer (background work) reads everything.
//
// Mutations by the system are not allowed here: each schema decides
// (audit rows, for example, are never updated, not even by the system).
type BaseMixin struct{ mixin.Schema }

// Policy of the BaseMixin.
func (BaseMixin) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.DenyIfNoViewer(), rule.AllowIfSystem()},
		Mutation: privacy.MutationPolicy{rule.DenyIfNoViewer()},
	}
}

// OperatorMixin is the policy of operator-only data: operators and the
// system read and change it, nobody else. List it after BaseMixin.
type OperatorMixin struct{ mixin.Schema }

// Policy of the OperatorMixin.
func (OperatorMixin) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.DenyUnlessPrivileged()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessPrivileged()},
	}
}

// TimeMixin adds created_at and updated_at (UTC) to a schema.
type TimeMixin struct{ mixin.Schema }

// Fields of the TimeMixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Comment("When the object was created (UTC).").Immutable().Default(now).
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").Comment("When the object last changed (UTC).").Default(now).UpdateDefault(now).
			Annotations(entgql.OrderField("UPDATED_AT")),
	}
}

func now() time.Time { return time.Now().UTC() }

// nowMicro is now truncated to microseconds, the precision PostgreSQL keeps,
// so that a value round-trips exactly through both databases (the audit
// chain hashes it).
func nowMicro() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
