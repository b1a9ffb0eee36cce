package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// IngestCursor is the persisted read position of one audit ingest source
// (for example "authentik" or "ocis"): the opaque cursor the source's
// provider plugin handed back with the last page that was written. Only
// the ingest workers (the system viewer) read or write it.
type IngestCursor struct{ ent.Schema }

// Mixin of the IngestCursor.
func (IngestCursor) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the IngestCursor.
func (IngestCursor) Fields() []ent.Field {
	return []ent.Field{
		field.String("source").Unique().Immutable().NotEmpty().MaxLen(64),
		field.Text("cursor").Default(""),
		field.Time("updated_at").Default(now).UpdateDefault(now),
	}
}

// Annotations of the IngestCursor.
func (IngestCursor) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the IngestCursor: the system viewer only. BaseMixin already
// allowed its reads; everybody else is denied.
func (IngestCursor) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessSystem()},
	}
}
