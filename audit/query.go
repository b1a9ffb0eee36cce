package audit

import (
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/predicate"
)

// ActionPrefix matches events whose action starts with prefix.
func ActionPrefix(prefix string) predicate.AuditEvent { return auditevent.ActionHasPrefix(prefix) }

// Since matches events at or after t.
func Since(t time.Time) predicate.AuditEvent { return auditevent.AtGTE(t) }

// Until matches events strictly before t.
func Until(t time.Time) predicate.AuditEvent { return auditevent.AtLT(t) }

// Text matches q (case-insensitively) in the action, resource name, actor
// e-mail or tenant slug.
func Text(q string) predicate.AuditEvent {
	return auditevent.Or(
		auditevent.ActionContainsFold(q),
		auditevent.ResourceNameContainsFold(q),
		auditevent.ActorEmailContainsFold(q),
		auditevent.TenantSlugContainsFold(q),
	)
}

// NewestFirst is the default order of audit listings.
var NewestFirst = &ent.AuditEventOrder{Direction: "DESC", Field: ent.AuditEventOrderFieldAt}
