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

// TenantSubscription is what a tenant pays: our database is its source of
// truth and the billing provider mirrors it. It snapshots the catalog price
// it was sold at (plan, interval, currency, unit amount), so a catalog edit
// changes what the tenant pays only when it is applied to the row. Every
// change that affects money appends a SubscriptionRevision (package
// subscriptions does both in one transaction).
type TenantSubscription struct{ ent.Schema }

// Mixin of the TenantSubscription.
func (TenantSubscription) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the TenantSubscription.
func (TenantSubscription) Fields() []ent.Field {
	return []ent.Field{
		tenantIDField(),
		field.Int("price_id").Comment("The catalog price the subscription is sold at.").Optional().Nillable(),
		field.Enum("plan").Comment("The plan, as sold.").
			NamedValues("Free", "FREE", "Starter", "STARTER", "Business", "BUSINESS", "Enterprise", "ENTERPRISE"),
		field.Enum("interval").Comment("The billing interval, as sold.").
			NamedValues("Month", "MONTH", "Year", "YEAR"),
		field.String("currency").Comment("ISO 4217 currency, upper case.").MinLen(3).MaxLen(3),
		field.Int64("unit_amount").Comment("Amount per interval in minor units: per seat when per_seat, else per subscription.").Min(0),
		field.Bool("per_seat").Comment("Whether unit_amount is per seat.").Default(true),
		field.Int("seats").Comment("Seats billed (the provider quantity when per_seat).").Min(0),
		field.Enum("status").Comment("ACTIVE, PAUSED (tenant suspended), PAST_DUE (a payment failed) or CANCELED.").
			NamedValues("Active", "ACTIVE", "Paused", "PAUSED", "PastDue", "PAST_DUE", "Canceled", "CANCELED").Default("ACTIVE"),
		field.Time("current_period_end").Comment("End of the current billing period, as the provider reports it.").Optional().Nillable(),
		field.Time("canceled_at").Comment("When the subscription was canceled.").Optional().Nillable(),
		field.String("provider_customer_id").Comment("The billing provider's customer id.").Default("").MaxLen(255),
		field.String("provider_subscription_id").Comment("The billing provider's subscription id; empty until mirrored.").Default("").MaxLen(255),
		field.String("provider_price_id").Comment("The provider price the provider subscription is on.").Default("").MaxLen(255),
		field.Time("provider_event_at").Comment("Time of the last billing webhook event applied to the status; older events are ignored.").Optional().Nillable(),
		field.String("sync_error").Comment("The last error mirroring the subscription to the provider; empty when in sync.").Default("").MaxLen(2048),
	}
}

// Edges of the TenantSubscription.
func (TenantSubscription) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).Field("tenant_id").Unique().Required().Immutable(),
		edge.To("price", Price.Type).Field("price_id").Unique(),
		edge.From("revisions", SubscriptionRevision.Type).Ref("subscription"),
	}
}

// Indexes of the TenantSubscription: one per tenant.
func (TenantSubscription) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id").Unique(), index.Fields("price_id", "currency"), index.Fields("provider_subscription_id")}
}

// Annotations of the TenantSubscription.
func (TenantSubscription) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the TenantSubscription: tenant admins, the tenant's partner
// staff and operators read it; only operators and the system change it
// (through the billing services, never directly by a tenant).
func (TenantSubscription) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterTenantOwned(false)},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessPrivileged()},
	}
}
