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

// integrationValues are the provisioned integrations, one per capability
// the provisioning service drives.
var integrationValues = []string{"Identity", "IDENTITY", "Storage", "STORAGE", "Billing", "BILLING", "Mail", "MAIL"}

// ProvisioningState is the recorded outcome of one integration's
// provisioning for one tenant, with the upstream IDs it produced. It is
// written only by the provisioning service (as the system viewer) and read
// through it after the tenant's visibility was checked.
type ProvisioningState struct{ ent.Schema }

// Mixin of the ProvisioningState.
func (ProvisioningState) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the ProvisioningState.
func (ProvisioningState) Fields() []ent.Field {
	return []ent.Field{
		field.Int("tenant_id").Immutable(),
		field.Enum("integration").NamedValues(integrationValues...).Immutable(),
		field.Enum("status").NamedValues("Pending", "PENDING", "Ok", "OK", "Error", "ERROR", "Skipped", "SKIPPED").
			Default("PENDING"),
		field.String("message").Default(""),
		field.JSON("external", map[string]string{}).Optional(),
		field.Time("updated_at").Default(now).UpdateDefault(now),
	}
}

// Indexes of the ProvisioningState.
func (ProvisioningState) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "integration").Unique()}
}

// Annotations of the ProvisioningState.
func (ProvisioningState) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the ProvisioningState: operators and the system read, only the
// system writes.
func (ProvisioningState) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessSystem()},
	}
}

// ProvisioningJob is one durable unit of provisioning work: converge one
// integration of one tenant to the tenant's current state. Jobs are
// inserted in the transaction of the change that needs them, claimed by
// exactly one worker at a time (locked_until is the claim's lease), and
// deleted when they succeed.
type ProvisioningJob struct{ ent.Schema }

// Mixin of the ProvisioningJob.
func (ProvisioningJob) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the ProvisioningJob.
func (ProvisioningJob) Fields() []ent.Field {
	return []ent.Field{
		field.Int("tenant_id").Immutable(),
		field.Enum("integration").NamedValues(integrationValues...).Immutable(),
		field.String("reason").Default(""),
		field.Time("run_at").Default(now),
		field.Int("attempts").Default(0),
		field.Time("locked_until").Optional().Nillable(),
		field.String("last_error").Default(""),
		field.Time("created_at").Immutable().Default(now),
	}
}

// Indexes of the ProvisioningJob.
func (ProvisioningJob) Indexes() []ent.Index {
	return []ent.Index{index.Fields("run_at"), index.Fields("tenant_id", "integration")}
}

// Annotations of the ProvisioningJob.
func (ProvisioningJob) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the ProvisioningJob: operators and the system read, only the
// system writes.
func (ProvisioningJob) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessSystem()},
	}
}
