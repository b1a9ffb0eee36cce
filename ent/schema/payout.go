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

// Payout is what the platform owes a partner in one currency: for the
// revenue of its tenants in for_period, payable in period. A REGULAR row
// has period = for_period; an ADJUSTMENT row corrects a for_period whose
// regular row was already paid, in a later open period. A PAID row is
// never rewritten (package payouts).
type Payout struct{ ent.Schema }

// Mixin of the Payout.
func (Payout) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the Payout.
func (Payout) Fields() []ent.Field {
	return []ent.Field{
		field.Int("partner_id").Immutable(),
		field.String("period").Comment("The month the payout is payable in, YYYY-MM.").MinLen(7).MaxLen(7).Immutable(),
		field.String("for_period").Comment("The month whose revenue it pays, YYYY-MM.").MinLen(7).MaxLen(7).Immutable(),
		field.Enum("kind").Comment("REGULAR, or ADJUSTMENT of an already paid month.").NamedValues("Regular", "REGULAR", "Adjustment", "ADJUSTMENT").Immutable(),
		field.String("currency").Comment("ISO 4217 currency, upper case.").MinLen(3).MaxLen(3).Immutable(),
		field.Int64("gross_mrr").Comment("The partner's tenants' MRR at the close of for_period, minor units.").Min(0),
		field.Int("margin_pct").Comment("The partner's margin in effect for for_period.").Range(0, 100),
		field.Int64("amount").Comment("What is owed, minor units: the margin's share of gross_mrr; for an adjustment, the difference to what was paid (may be negative)."),
		field.Int("tenants").Comment("How many tenants' subscriptions make up gross_mrr.").Min(0),
		field.Enum("status").Comment("PENDING until paid, then PAID.").NamedValues("Pending", "PENDING", "Paid", "PAID").Default("PENDING"),
		field.String("reference").Comment("The payment reference given when it was paid.").Default("").Validate(line(200)),
		field.Time("paid_at").Comment("When it was marked paid.").Optional().Nillable(),
	}
}

// Edges of the Payout.
func (Payout) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("partner", Partner.Type).Field("partner_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Payout: one row per partner, period, month paid for and
// currency.
func (Payout) Indexes() []ent.Index {
	return []ent.Index{index.Fields("partner_id", "period", "for_period", "currency").Unique(), index.Fields("period")}
}

// Annotations of the Payout.
func (Payout) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the Payout: operators, and the partner's staff read their own;
// only operators and the system write.
func (Payout) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterPartnerOwned()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessPrivileged()},
	}
}
