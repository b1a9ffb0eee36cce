package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/internal/rule"
)

// MailDomain is a tenant's mail domain and its DNS verification state.
//
// Several tenants may claim the same name while it is PENDING; the first
// to verify it owns it: verified_at is set then and stays set (also while
// the domain is FAILING) until the owner removes it. The partial unique
// index on name over owned rows makes the database decide a race between
// two verifications.
type MailDomain struct{ ent.Schema }

// Mixin of the MailDomain.
func (MailDomain) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the MailDomain.
func (MailDomain) Fields() []ent.Field {
	return []ent.Field{
		// name is normalised: lower-case ASCII (IDNA), no trailing dot.
		field.String("name").Immutable().NotEmpty().MaxLen(253).Validate(line(0)),
		field.Int("tenant_id").Immutable(),
		field.Enum("status").NamedValues("Pending", "PENDING", "Verified", "VERIFIED", "Failing", "FAILING").Default("PENDING"),
		field.Bool("primary").Default(false),
		// ownership_token is published as the ownership TXT record; it is
		// random per claim, so one tenant's record never verifies another's.
		field.String("ownership_token").Immutable().NotEmpty().MaxLen(64).Validate(line(0)),
		// records are the records to publish with the last check's result.
		field.JSON("records", []schematype.DNSRecordCheck{}).Default([]schematype.DNSRecordCheck{}),
		field.Enum("dmarc_policy").NamedValues("None", "NONE", "Quarantine", "QUARANTINE", "Reject", "REJECT").Optional().Nillable(),
		field.String("dmarc_report_email").Optional().MaxLen(254).Validate(line(0)),
		// managed_dns is set when the records were published through the
		// dns capability's dynamic updates.
		field.Bool("managed_dns").Default(false),
		// message explains the state when it needs one (a failed publish).
		field.String("message").Optional().MaxLen(1000).Validate(line(0)),
		field.Time("checked_at").Optional().Nillable(),
		field.Time("verified_at").Optional().Nillable(),
	}
}

// Edges of the MailDomain.
func (MailDomain) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).Field("tenant_id").Unique().Required().Immutable(),
	}
}

// Indexes of the MailDomain.
func (MailDomain) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "name").Unique(),
		// One owner per name: the first verification wins.
		index.Fields("name").Unique().StorageKey("maildomain_owned_name").
			Annotations(entsql.IndexWhere("verified_at IS NOT NULL")),
		index.Fields("status"),
	}
}

// Annotations of the MailDomain.
func (MailDomain) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the MailDomain: members of the tenant, its partner's staff and
// operators read; tenant admins, its partner's staff and operators change.
// See package rule.
func (MailDomain) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterMailDomains()},
		Mutation: privacy.MutationPolicy{rule.AllowIfPrivileged(), rule.MailDomainMutation()},
	}
}
