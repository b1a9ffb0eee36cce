package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// SavedReport is a report a user named and keeps to run again: its kind
// and parameters. It belongs to the user who saved it and only they see
// it (package reports).
type SavedReport struct{ ent.Schema }

// Mixin of the SavedReport.
func (SavedReport) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the SavedReport.
func (SavedReport) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").Immutable(),
		field.String("name").Comment("The name the user gave it.").NotEmpty().Validate(line(120)),
		field.Enum("kind").Comment("PLATFORM or PARTNER.").NamedValues("Platform", "PLATFORM", "Partner", "PARTNER").Immutable(),
		field.String("from").Comment("First month, YYYY-MM.").MinLen(7).MaxLen(7),
		field.String("to").Comment("Last month, YYYY-MM.").MinLen(7).MaxLen(7),
		field.String("partner_slug").Comment("The partner of a PARTNER report.").Default("").MaxLen(64),
	}
}

// Edges of the SavedReport.
func (SavedReport) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of the SavedReport.
func (SavedReport) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id", "name").Unique()}
}

// Annotations of the SavedReport.
func (SavedReport) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the SavedReport: its owner only.
func (SavedReport) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.FilterUserOwned()},
		Mutation: privacy.MutationPolicy{rule.UserOwnedMutation()},
	}
}
