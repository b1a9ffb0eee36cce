package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// BillingEvent records a billing webhook event that was applied, by the
// provider's event id, so that a redelivery or replay writes nothing.
// Rows older than the retention are pruned by a periodic job.
type BillingEvent struct{ ent.Schema }

// Mixin of the BillingEvent.
func (BillingEvent) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the BillingEvent.
func (BillingEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("provider_event_id").Comment("The provider's event id.").NotEmpty().MaxLen(255).Immutable(),
		field.String("type").Comment("The provider's event type.").MaxLen(255).Immutable(),
		field.Int("tenant_id").Comment("The tenant the event concerned; null when none was found.").Optional().Nillable().Immutable(),
		field.Time("occurred_at").Comment("When the provider says the event happened.").Immutable(),
		field.Time("received_at").Comment("When it was applied.").Default(now).Immutable(),
	}
}

// Indexes of the BillingEvent.
func (BillingEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("provider_event_id").Unique(), index.Fields("received_at")}
}

// Annotations of the BillingEvent.
func (BillingEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the BillingEvent: the system viewer only.
func (BillingEvent) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessSystem()},
	}
}
