package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Invoice is a cached copy of one of a tenant's invoices at the billing
// provider, the source of truth for invoices. Package billing fills it
// from the provider's invoice list and keeps it current from billing
// webhooks; a status never moves back (draft < open < uncollectible <
// paid, void), so events applied in any order leave the same row.
type Invoice struct{ ent.Schema }

// Mixin of the Invoice.
func (Invoice) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the Invoice.
func (Invoice) Fields() []ent.Field {
	return []ent.Field{
		tenantIDField(),
		field.String("provider_invoice_id").Comment("The provider's invoice id.").NotEmpty().MaxLen(255).Immutable(),
		field.String("number").Comment("The invoice number; empty while a draft.").Default("").MaxLen(255),
		field.Enum("status").Comment("DRAFT, OPEN, PAID, UNCOLLECTIBLE or VOID.").
			NamedValues("Draft", "DRAFT", "Open", "OPEN", "Paid", "PAID", "Uncollectible", "UNCOLLECTIBLE", "Void", "VOID"),
		field.String("currency").Comment("ISO 4217 currency, upper case.").MinLen(3).MaxLen(3),
		field.Int64("total").Comment("Total in minor units."),
		field.Int64("amount_due").Comment("Amount due in minor units.").Min(0),
		field.Int64("amount_paid").Comment("Amount paid in minor units.").Min(0),
		field.Time("period_start").Comment("Start of the billed period.").Optional().Nillable(),
		field.Time("period_end").Comment("End of the billed period.").Optional().Nillable(),
		field.Time("issued_at").Comment("When the provider created the invoice."),
		field.String("hosted_url").Comment("The provider's page where the invoice is viewed and paid.").Default("").MaxLen(2048),
		field.String("pdf_url").Comment("The provider's link to the invoice PDF.").Default("").MaxLen(2048),
		field.Time("source_at").Comment("Time of the provider event (or list read) the row was last taken from.").Optional().Nillable(),
	}
}

// Edges of the Invoice.
func (Invoice) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).Field("tenant_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Invoice.
func (Invoice) Indexes() []ent.Index {
	return []ent.Index{index.Fields("provider_invoice_id").Unique(), index.Fields("tenant_id", "issued_at")}
}

// Annotations of the Invoice.
func (Invoice) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the Invoice: tenant admins, the tenant's partner staff and
// operators (a refresh they ask for writes the provider's statements as
// them); webhooks and the periodic refresh write as the system.
func (Invoice) Policy() ent.Policy { return adminPolicy() }
