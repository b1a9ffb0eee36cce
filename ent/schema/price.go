package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/internal/rule"
)

// Price is a row of the pricing catalog: what a plan costs per interval,
// in one amount per currency. Operators manage it; every signed-in viewer
// reads it. Archived rows (active false) are kept: subscriptions and
// reports still point at them.
type Price struct{ ent.Schema }

// Mixin of the Price.
func (Price) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the Price.
func (Price) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("plan").Comment("The plan this price is for.").
			NamedValues("Free", "FREE", "Starter", "STARTER", "Business", "BUSINESS", "Enterprise", "ENTERPRISE"),
		field.Enum("interval").Comment("The billing interval.").
			NamedValues("Month", "MONTH", "Year", "YEAR"),
		field.Bool("per_seat").Comment("Whether the amount is per seat (true) or per subscription.").Default(true),
		field.JSON("amounts", []schematype.Money{}).Comment("The amount per interval in each currency it is sold in, in minor units; one entry per currency."),
		field.Bool("active").Comment("Whether the price is offered; archived prices are kept for existing subscriptions and reports.").Default(true),
		field.JSON("provider_prices", []schematype.ProviderPrice{}).Comment("The billing provider's current price object per currency.").Default([]schematype.ProviderPrice{}),
	}
}

// Indexes of the Price.
func (Price) Indexes() []ent.Index {
	return []ent.Index{index.Fields("plan", "interval")}
}

// Annotations of the Price.
func (Price) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the Price: every signed-in viewer reads the catalog; only
// operators and the system change it.
func (Price) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfViewer()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessPrivileged()},
	}
}
