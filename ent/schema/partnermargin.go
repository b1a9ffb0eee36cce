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

// PartnerMargin is one version of a partner's margin: the share of its
// tenants' revenue it earns from effective_from (the first day of a month,
// UTC) until the next version. Versions are never rewritten once a month
// they cover is paid out: a change takes effect from the next month
// (package payouts).
type PartnerMargin struct{ ent.Schema }

// Mixin of the PartnerMargin.
func (PartnerMargin) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the PartnerMargin.
func (PartnerMargin) Fields() []ent.Field {
	return []ent.Field{
		field.Int("partner_id").Immutable(),
		field.Int("pct").Comment("The margin, 0-100 percent of the tenants' revenue.").Range(0, 100),
		field.Time("effective_from").Comment("First day (UTC) of the first month the margin applies to.").Immutable(),
	}
}

// Edges of the PartnerMargin.
func (PartnerMargin) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("partner", Partner.Type).Field("partner_id").Unique().Required().Immutable(),
	}
}

// Indexes of the PartnerMargin: one version per partner and month.
func (PartnerMargin) Indexes() []ent.Index {
	return []ent.Index{index.Fields("partner_id", "effective_from").Unique()}
}

// Annotations of the PartnerMargin.
func (PartnerMargin) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the PartnerMargin: operators, and the partner's staff read it;
// operators change it (through the partner).
func (PartnerMargin) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterPartnerOwned()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessPrivileged()},
	}
}
