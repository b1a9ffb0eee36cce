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

// AuditStream is a continuous export of the audit events its scope may
// see (see package auditstream): a TENANT stream the events of its tenant
// (configured by the tenant's admins), a PLATFORM stream every event
// (operators). Batches go to an HTTP collector (JSON POST) or to
// S3-compatible storage (JSONL objects).
type AuditStream struct{ ent.Schema }

// Mixin of the AuditStream.
func (AuditStream) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TimeMixin{}} }

// Fields of the AuditStream.
func (AuditStream) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("scope").NamedValues("Tenant", "TENANT", "Platform", "PLATFORM").Immutable().
			Comment("Which audit events the stream exports: its tenant's (TENANT) or all (PLATFORM)."),
		field.Int("tenant_id").Optional().Nillable().Immutable().Annotations(entgql.Skip()).
			Comment("The tenant of a TENANT stream."),
		field.String("tenant_slug").Default("").Immutable().
			Comment("Slug of the tenant of a TENANT stream; empty otherwise."),
		field.Enum("kind").NamedValues("HTTP", "HTTP", "S3", "S3").Immutable().
			Comment("HTTP: batches POSTed as JSON to url; S3: one JSONL object per batch in bucket under prefix."),
		field.String("url").Default("").MaxLen(2048).
			Comment("The collector of an HTTP stream."),
		field.String("bucket").Default("").MaxLen(63).
			Comment("The bucket of an S3 stream (on the server's S3-compatible endpoint)."),
		field.String("prefix").Default("").MaxLen(512).
			Comment("Key prefix of an S3 stream's objects."),
		field.Int("batch_size").Default(100).Range(1, 1000).
			Comment("At most this many events per batch."),
		field.Bool("enabled").Default(true).
			Comment("Whether the stream exports; a paused stream resumes at its cursor."),
		field.Int64("cursor_seq").Default(0).
			Comment("Audit chain seq up to which events were exported; export resumes after it."),
		field.Int("failures").Default(0).
			Comment("Consecutive failed exports; 0 after a success."),
		field.String("last_error").Default("").
			Comment("Why the last export failed; empty after a success."),
		field.Time("last_success_at").Optional().Nillable().
			Comment("When a batch was last exported."),
		field.Time("next_attempt_at").Optional().Nillable().
			Comment("When a failed export is retried; null when none is pending."),
		field.String("created_by").Default("").Immutable().
			Comment("Subject of whoever created the stream."),
	}
}

// Indexes of the AuditStream.
func (AuditStream) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id")}
}

// Annotations of the AuditStream.
func (AuditStream) Annotations() []schema.Annotation {
	return []schema.Annotation{
		schema.Comment("A continuous export of the audit events its scope may see, to an HTTP collector (batched JSON) or S3-compatible storage (JSONL objects), in seq order and resumable."),
		entgql.RelayConnection(),
		entgql.QueryField("auditStreams").Description("Audit streams the caller manages: tenant admins their tenants', operators all."),
	}
}

// Policy of the AuditStream. See package rule for the tenancy contract.
func (AuditStream) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfPrivileged(), rule.FilterAuditStreams()},
		Mutation: privacy.MutationPolicy{rule.AllowIfPrivileged(), rule.AuditStreamMutation()},
	}
}
