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
// provisioning for one tenant, with the upstream IDs it produced, and the
// generation that keys its river jobs (see package provisioning). It is
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
		// generation numbers the integration's runs: a change queues the
		// job of the current generation (merging with it while it has not
		// started), and a job starting moves the generation past its own.
		field.Int("generation").Default(0).NonNegative(),
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
