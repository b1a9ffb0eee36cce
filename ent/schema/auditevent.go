package schema

import (
	"context"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	gen "github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/hook"
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/rule"
)

// AuditEvent is one append-only audit record. Platform events are written in
// the same transaction as the change they describe. seq, prev_hash and hash
// are reserved for the tamper-evident chain.
type AuditEvent struct{ ent.Schema }

// Mixin of the AuditEvent.
func (AuditEvent) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the AuditEvent.
func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		// at is stored with microsecond precision (see Hooks) so that it
		// round-trips exactly through both databases: the chain hashes it.
		field.Time("at").Comment("When it happened (UTC, microseconds).").Immutable().Default(nowMicro).
			Annotations(entgql.OrderField("AT")),
		field.Int64("seq").Comment("Position in the audit chain; null until chained (within seconds).").Optional().Nillable().Unique(),
		field.String("prev_hash").Comment("Hash (hex) of the previous event in the chain.").Optional(),
		field.String("hash").Comment("SHA-256 (hex) over the previous hash and this event's canonical form.").Optional(),
		field.String("source").Comment("Where the event comes from: platform (this API) or an ingested system (authentik, stalwart, ocis).").Default("platform").Immutable(),
		field.String("external_id").Comment("The event's id in its source system, for ingested events.").Optional().Nillable().Immutable(),
		field.String("actor_type").Comment("Who acted: user, system or anonymous.").Immutable(),
		field.String("actor_id").Comment("The actor's OIDC subject (or the source system's user id).").Optional().Immutable(),
		field.String("actor_email").Comment("The actor's e-mail address, when known.").Optional().Immutable(),
		field.String("actor_ip").Comment("The actor's client address (behind trusted proxies only, the forwarded one).").Optional().Immutable(),
		field.String("action").Comment("What happened, as <resource>.<verb>, e.g. tenant.created.").NotEmpty().Immutable(),
		field.Enum("outcome").Comment("How it ended.").NamedValues("Success", "SUCCESS", "Failure", "FAILURE", "Denied", "DENIED").
			Default("SUCCESS").Immutable(),
		field.String("resource_type").Comment("The kind of object acted on.").Optional().Immutable(),
		field.String("resource_id").Comment("The object's id.").Optional().Immutable(),
		field.String("resource_name").Comment("The object's name or slug at the time.").Optional().Immutable(),
		field.Int("tenant_id").Comment("Database id of the tenant concerned; null when none.").Optional().Nillable().Immutable(),
		field.String("tenant_slug").Comment("Slug of the tenant concerned; empty when none.").Optional().Immutable(),
		field.Int("partner_id").Comment("Database id of the partner concerned; null when none.").Optional().Nillable().Immutable(),
		field.String("partner_slug").Comment("Slug of the partner concerned; empty when none.").Optional().Immutable(),
		field.JSON("metadata", map[string]any{}).Comment("Details of the event, e.g. a before/after diff of the changed fields. Never contains secrets.").Optional().Immutable().
			Annotations(entgql.Type("Map")),
		// personal holds, for events chained in the sealed format (see
		// package audit, "Personal data"), the salt and commitment of each
		// personal field as JSON: {"<path>": {"commitment", "salt",
		// "subject"}} or, once erased, {"<path>": {"commitment",
		// "erased": true}}. NULL for events chained before that format
		// and for unchained events. Written by the chainer and by
		// erasure with plain SQL; never exposed in GraphQL.
		field.Text("personal").Optional().Nillable().Immutable().
			Annotations(entgql.Skip()),
	}
}

// Indexes of the AuditEvent.
func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("at"),
		index.Fields("tenant_id", "at"),
		index.Fields("partner_id", "at"),
		index.Fields("action"),
		index.Fields("source", "external_id").Unique(),
	}
}

// Annotations of the AuditEvent.
func (AuditEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{
		schema.Comment("One append-only audit record, chained by hash in seq order and covered by signed checkpoints."),
		entgql.RelayConnection(),
		entgql.QueryField().Description("Audit events the caller can see: operators all, partner staff their partner's and its tenants', tenant admins their tenant's; newest first by default."),
	}
}

// Hooks of the AuditEvent.
func (AuditEvent) Hooks() []ent.Hook {
	return []ent.Hook{
		// Truncate an explicitly set at (e.g. an ingested upstream time) to
		// microseconds, the precision PostgreSQL keeps.
		hook.On(func(next ent.Mutator) ent.Mutator {
			return hook.AuditEventFunc(func(ctx context.Context, m *gen.AuditEventMutation) (ent.Value, error) {
				if at, ok := m.At(); ok {
					m.SetAt(at.UTC().Truncate(time.Microsecond))
				}
				return next.Mutate(ctx, m)
			})
		}, ent.OpCreate),
	}
}

// Policy of the AuditEvent. See package rule for the tenancy contract.
func (AuditEvent) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterAuditEvents()},
		Mutation: privacy.MutationPolicy{
			// Append-only: no update ever; deletion only by system maintenance.
			privacy.OnMutationOperation(privacy.AlwaysDenyRule(), ent.OpUpdate|ent.OpUpdateOne),
			privacy.OnMutationOperation(rule.DenyUnlessSystem(), ent.OpDelete|ent.OpDeleteOne),
			rule.AllowIfViewer(),
		},
	}
}
