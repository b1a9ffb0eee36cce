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

// SubscriptionRevision is an append-only snapshot of a tenant
// subscription's money-relevant state from effective_at on, until the next
// revision of the same subscription. Payouts and reports are computed from
// these rows only, so every figure is reproducible. partner_id is the
// tenant's partner when the revision was written: a tenant moving to
// another partner starts a new revision.
type SubscriptionRevision struct{ ent.Schema }

// Mixin of the SubscriptionRevision.
func (SubscriptionRevision) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the SubscriptionRevision.
func (SubscriptionRevision) Fields() []ent.Field {
	return []ent.Field{
		field.Int("subscription_id").Immutable(),
		tenantIDField(),
		field.Int("partner_id").Comment("The tenant's partner at effective_at; null for a direct customer.").Optional().Nillable().Immutable(),
		field.Time("effective_at").Comment("From when this state holds (UTC).").Immutable(),
		field.Enum("plan").NamedValues("Free", "FREE", "Starter", "STARTER", "Business", "BUSINESS", "Enterprise", "ENTERPRISE").Immutable(),
		field.Enum("interval").NamedValues("Month", "MONTH", "Year", "YEAR").Immutable(),
		field.String("currency").MinLen(3).MaxLen(3).Immutable(),
		field.Int64("unit_amount").Min(0).Immutable(),
		field.Bool("per_seat").Immutable(),
		field.Int("seats").Min(0).Immutable(),
		field.Enum("status").NamedValues("Active", "ACTIVE", "Paused", "PAUSED", "PastDue", "PAST_DUE", "Canceled", "CANCELED").Immutable(),
		field.Int64("mrr").Comment("Monthly recurring revenue of this state in minor units (money.MonthlyRecurring; 0 unless ACTIVE or PAST_DUE).").Min(0).Immutable(),
		field.String("reason").Comment("What changed: created, seats, plan, price_edit, paused, resumed, past_due, canceled, partner, provider.").MaxLen(64).Immutable(),
	}
}

// Edges of the SubscriptionRevision.
func (SubscriptionRevision) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("subscription", TenantSubscription.Type).Field("subscription_id").Unique().Required().Immutable(),
		edge.To("tenant", Tenant.Type).Field("tenant_id").Unique().Required().Immutable(),
	}
}

// Indexes of the SubscriptionRevision.
func (SubscriptionRevision) Indexes() []ent.Index {
	return []ent.Index{index.Fields("subscription_id", "effective_at"), index.Fields("partner_id", "effective_at"), index.Fields("effective_at")}
}

// Annotations of the SubscriptionRevision.
func (SubscriptionRevision) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the SubscriptionRevision: read like the subscription; written
// only by operators and the system, never changed.
func (SubscriptionRevision) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterTenantOwned(false)},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessPrivileged()},
	}
}
