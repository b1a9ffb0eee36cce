package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
)

// TimeMixin adds created_at and updated_at (UTC) to a schema.
type TimeMixin struct{ mixin.Schema }

// Fields of the TimeMixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Immutable().Default(now).
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").Default(now).UpdateDefault(now).
			Annotations(entgql.OrderField("UPDATED_AT")),
	}
}

func now() time.Time { return time.Now().UTC() }

// nowMicro is now truncated to microseconds, the precision PostgreSQL keeps,
// so that a value round-trips exactly through both databases (the audit
// chain hashes it).
func nowMicro() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
