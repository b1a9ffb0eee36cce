package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// BillingAccount is a tenant's billing details (what its invoices are
// addressed to) and the card its invoices are charged to, as the billing
// provider last described it. Package billing keeps it; the details are
// mirrored to the provider's customer by the tenant's billing job.
type BillingAccount struct{ ent.Schema }

// Mixin of the BillingAccount.
func (BillingAccount) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the BillingAccount.
func (BillingAccount) Fields() []ent.Field {
	return []ent.Field{
		tenantIDField(),
		field.String("company_name").Comment("Legal name invoices are addressed to; empty: the tenant's name.").Default("").Validate(line(200)),
		field.String("vat_id").Comment("EU VAT number with its country prefix, upper case, no spaces.").Default("").Validate(line(20)),
		field.String("country").Comment("ISO 3166-1 alpha-2 country of the billing address.").Default("").Validate(line(2)),
		field.String("billing_email").Comment("Where invoices are sent.").Default("").Validate(line(254)),
		field.String("provider_customer_id").Comment("The billing provider's customer id, once known; webhooks about it are attributed to the tenant.").Default("").MaxLen(255),
		field.String("payment_method_id").Comment("The provider's id of the default payment method.").Default("").MaxLen(255),
		field.String("card_brand").Comment("Brand of the default card (visa, mastercard, ...); empty when none is known.").Default("").MaxLen(40),
		field.String("card_last4").Comment("Last four digits of the default card.").Default("").MaxLen(4),
		field.Int("card_exp_month").Comment("Expiry month of the default card (1-12; 0 when unknown).").Default(0).Min(0).Max(12),
		field.Int("card_exp_year").Comment("Expiry year of the default card (0 when unknown).").Default(0).Min(0),
		field.Time("card_event_at").Comment("Time of the provider event the card was last taken from; older events are ignored.").Optional().Nillable(),
		field.Time("invoices_synced_at").Comment("When the tenant's invoices were last read from the provider.").Optional().Nillable(),
	}
}

// Edges of the BillingAccount.
func (BillingAccount) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).Field("tenant_id").Unique().Required().Immutable(),
	}
}

// Indexes of the BillingAccount: one per tenant.
func (BillingAccount) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id").Unique(), index.Fields("provider_customer_id")}
}

// Annotations of the BillingAccount.
func (BillingAccount) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the BillingAccount: tenant admins, the tenant's partner staff
// and operators.
func (BillingAccount) Policy() ent.Policy { return adminPolicy() }
