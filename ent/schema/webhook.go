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
	"github.com/dezky/platform/internal/rule"
)

// WebhookEndpoint is a receiver of signed audit events (Standard Webhooks,
// see package webhooks). Its scope says which audit events it may receive,
// by the same visibility rules as the audit query: a TENANT endpoint the
// events of its tenant, a PARTNER endpoint the events of its partner, a
// PLATFORM endpoint every event. Tenant admins manage their tenant's
// endpoints, partner staff their partner's and their tenants' endpoints,
// operators all of them.
type WebhookEndpoint struct{ ent.Schema }

// Mixin of the WebhookEndpoint.
func (WebhookEndpoint) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the WebhookEndpoint.
func (WebhookEndpoint) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("scope").NamedValues("Tenant", "TENANT", "Partner", "PARTNER", "Platform", "PLATFORM").Immutable().
			Comment("Which audit events the endpoint may receive: its tenant's (TENANT), its partner's (PARTNER) or all (PLATFORM)."),
		field.Int("tenant_id").Optional().Nillable().Immutable().
			Annotations(entgql.Skip()).
			Comment("The tenant of a TENANT endpoint."),
		field.String("tenant_slug").Default("").Immutable().
			Comment("Slug of the tenant of a TENANT endpoint; empty otherwise."),
		field.Int("partner_id").Optional().Nillable().Immutable().
			Annotations(entgql.Skip()).
			Comment("The partner of a PARTNER endpoint."),
		field.String("partner_slug").Default("").Immutable().
			Comment("Slug of the partner of a PARTNER endpoint; empty otherwise."),
		field.String("url").NotEmpty().MaxLen(2048).
			Comment("Where deliveries are POSTed."),
		field.String("description").Default("").MaxLen(500).
			Comment("Free text for the people managing the endpoint."),
		field.JSON("event_types", []string{}).
			Comment("Audit actions delivered: an exact action (tenant.created), a prefix ending in .* (tenant.*), or * for every action."),
		field.Enum("status").NamedValues("Active", "ACTIVE", "Disabled", "DISABLED").Default("ACTIVE").
			Comment("ACTIVE endpoints receive events; DISABLED ones (by a person, or after failing for the whole retry horizon) do not, and resume where they stopped when re-enabled."),
		field.String("disabled_reason").Default("").
			Comment("Why the endpoint is disabled; empty when active."),
		field.Bytes("secret_sealed").Sensitive().
			Annotations(entgql.Skip()).
			Comment("The signing secret, encrypted with the server's webhook key."),
		field.Bytes("previous_secret_sealed").Optional().Nillable().Sensitive().
			Annotations(entgql.Skip()).
			Comment("The signing secret before the last rotation, encrypted; signs beside the new one until previous_secret_expires_at."),
		field.Time("previous_secret_expires_at").Optional().Nillable().
			Comment("Until when deliveries are also signed with the secret before the last rotation; null when there is none."),
		field.Int64("cursor_seq").Default(0).
			Comment("Audit chain seq up to which events were delivered (or skipped as not matching); delivery resumes after it."),
		field.Int("failures").Default(0).
			Comment("Consecutive failed delivery attempts; 0 after a success."),
		field.Time("failing_since").Optional().Nillable().
			Comment("When the current run of failures began; null when the last attempt succeeded."),
		field.Time("next_attempt_at").Optional().Nillable().
			Comment("When the next retry of the pending event is due; null when none is pending."),
		field.Time("last_success_at").Optional().Nillable().
			Comment("When a delivery last succeeded."),
		field.String("created_by").Default("").Immutable().
			Comment("Subject of whoever created the endpoint."),
	}
}

// Edges of the WebhookEndpoint.
func (WebhookEndpoint) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("deliveries", WebhookDelivery.Type).
			Annotations(entsql.OnDelete(entsql.Cascade), entgql.Skip()),
	}
}

// Indexes of the WebhookEndpoint.
func (WebhookEndpoint) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id"), index.Fields("partner_id")}
}

// Annotations of the WebhookEndpoint.
func (WebhookEndpoint) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("webhookEndpoints").Description("Webhook endpoints the caller manages: tenant admins their tenants', partner staff their partner's and its tenants', operators all."),
		schema.Comment("A receiver of signed audit events (Standard Webhooks)."),
	}
}

// Policy of the WebhookEndpoint. See package rule for the tenancy contract.
func (WebhookEndpoint) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterWebhookEndpoints()},
		Mutation: privacy.MutationPolicy{rule.AllowIfPrivileged(), rule.WebhookEndpointMutation()},
	}
}

// WebhookDelivery is one attempt to deliver a message to an endpoint.
// Only the delivery workers (the system viewer) write them; whoever sees
// the endpoint sees its deliveries.
type WebhookDelivery struct{ ent.Schema }

// Mixin of the WebhookDelivery.
func (WebhookDelivery) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the WebhookDelivery.
func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.Int("endpoint_id").Immutable().
			Comment("The endpoint the message was sent to."),
		field.String("message_id").Immutable().
			Comment("The webhook-id header: the same for every attempt and redelivery of one message."),
		field.Int64("event_seq").Optional().Nillable().Immutable().
			Comment("Audit chain seq of the delivered event; null for a test message."),
		field.String("event_type").Immutable().
			Comment("The message type: the audit action, or webhook.test."),
		field.Enum("kind").NamedValues("Event", "EVENT", "Test", "TEST", "Redelivery", "REDELIVERY").Immutable().
			Comment("EVENT: delivery from the audit chain; TEST: sendTestWebhook; REDELIVERY: redeliverWebhook."),
		field.Int("attempt").Immutable().
			Comment("1 for the first attempt of the message, counting up with every retry."),
		field.Int("status_code").Default(0).Immutable().
			Comment("HTTP status of the response; 0 when no response was received."),
		field.Int("latency_ms").Default(0).Immutable().
			Comment("Time from sending the request to receiving the response headers, in milliseconds."),
		field.String("error").Default("").Immutable().
			Comment("Why the attempt failed; empty on success."),
		field.Bool("success").Immutable().
			Comment("Whether the receiver answered 2xx."),
		field.Time("attempted_at").Default(now).Immutable().
			Annotations(entgql.OrderField("ATTEMPTED_AT")).
			Comment("When the attempt was made."),
		field.Time("next_attempt_at").Optional().Nillable().Immutable().
			Comment("When this failed message is retried; null after a success, for tests and redeliveries, and once the endpoint was disabled."),
	}
}

// Edges of the WebhookDelivery.
func (WebhookDelivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("endpoint", WebhookEndpoint.Type).Ref("deliveries").Field("endpoint_id").
			Unique().Required().Immutable().Annotations(entgql.Skip()),
	}
}

// Indexes of the WebhookDelivery.
func (WebhookDelivery) Indexes() []ent.Index {
	return []ent.Index{index.Fields("endpoint_id", "attempted_at")}
}

// Annotations of the WebhookDelivery.
func (WebhookDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		schema.Comment("One attempt to deliver a webhook message."),
	}
}

// Policy of the WebhookDelivery: written by the system only.
func (WebhookDelivery) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterWebhookDeliveries()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessSystem()},
	}
}
