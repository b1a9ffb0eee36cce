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

// AuditArchive records one batch of chained audit events moved to object
// storage (package audit/archive): the seq range, the object keys and the
// sha256 of each object. A row is written with status "uploading" before any
// object is put, becomes "uploaded" once both objects are confirmed by HEAD,
// and "archived" once the hot rows of its range are deleted. The system
// writes (and advances the status of) these rows; operators read them;
// nobody deletes them. start_seq is unique: a range is archived once.
type AuditArchive struct{ ent.Schema }

// Mixin of the AuditArchive.
func (AuditArchive) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of the AuditArchive.
func (AuditArchive) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("start_seq").Immutable().Positive(),
		field.Int64("end_seq").Immutable().Positive(),
		field.Int("event_count").Immutable().Positive(),
		field.String("jsonl_key").Immutable().NotEmpty(),
		field.String("manifest_key").Immutable().NotEmpty(),
		// jsonl_sha256 is the hex sha256 of the uncompressed JSONL.
		field.String("jsonl_sha256").Optional(),
		// manifest_sha256 is the hex sha256 of the manifest object.
		field.String("manifest_sha256").Optional(),
		// bytes is the size of the gzip object.
		field.Int64("bytes").Default(0).NonNegative(),
		// archived_at is when the batch was created; it is reset when an
		// interrupted batch is uploaded again.
		field.Time("archived_at").Default(nowMicro),
		field.Enum("status").Values("uploading", "uploaded", "archived").Default("uploading"),
	}
}

// Indexes of the AuditArchive.
func (AuditArchive) Indexes() []ent.Index {
	return []ent.Index{index.Fields("start_seq").Unique(), index.Fields("status")}
}

// Annotations of the AuditArchive.
func (AuditArchive) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the AuditArchive: operators and the system read; only the system
// writes; nobody deletes.
func (AuditArchive) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{rule.DenyUnlessPrivileged()},
		Mutation: privacy.MutationPolicy{
			privacy.OnMutationOperation(privacy.AlwaysDenyRule(), ent.OpDelete|ent.OpDeleteOne),
			rule.DenyUnlessSystem(),
		},
	}
}
