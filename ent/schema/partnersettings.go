package schema

import (
	"regexp"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

var hexColor = regexp.MustCompile(`^#[0-9a-f]{6}$`)

// PartnerSettings are a partner's support contacts, the default plan of
// the customers it creates, and its white-label branding.
type PartnerSettings struct{ ent.Schema }

// Mixin of the PartnerSettings.
func (PartnerSettings) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the PartnerSettings.
func (PartnerSettings) Fields() []ent.Field {
	return append([]ent.Field{
		field.Int("partner_id").Immutable(),
		field.String("support_email").Optional().Nillable().Match(emailPattern).Validate(line(254)),
		field.String("support_url").Optional().Nillable().MaxLen(2048).Validate(line(0)),
		field.Enum("default_plan").
			NamedValues("Free", "FREE", "Starter", "STARTER", "Business", "BUSINESS", "Enterprise", "ENTERPRISE").
			Optional().Nillable(),
	}, brandingFields()...)
}

// Edges of the PartnerSettings.
func (PartnerSettings) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("partner", Partner.Type).Field("partner_id").Unique().Required().Immutable(),
	}
}

// Indexes of the PartnerSettings: one row per owner.
func (PartnerSettings) Indexes() []ent.Index {
	return []ent.Index{index.Fields("partner_id").Unique()}
}

// Annotations of the PartnerSettings.
func (PartnerSettings) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the PartnerSettings: the partner's staff and operators.
func (PartnerSettings) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterPartnerOwned()},
		Mutation: privacy.MutationPolicy{rule.AllowIfPrivileged(), rule.PartnerOwnedMutation()},
	}
}
