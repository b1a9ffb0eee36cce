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

// Filter selects audit events; zero fields match everything. It mirrors the
// GraphQL auditEvents where-input for the CSV export.
type Filter struct {
	ActionPrefix string
	TenantSlug   string
	PartnerSlug  string
	ActorEmail   string
	Outcome      auditevent.Outcome
	Since        time.Time
	Until        time.Time
	Q            string
}

// Predicates returns the filter as ent predicates.
func (f Filter) Predicates() []predicate.AuditEvent {
	var ps []predicate.AuditEvent
	if f.ActionPrefix != "" {
		ps = append(ps, ActionPrefix(f.ActionPrefix))
	}
	if f.TenantSlug != "" {
		ps = append(ps, auditevent.TenantSlug(f.TenantSlug))
	}
	if f.PartnerSlug != "" {
		ps = append(ps, auditevent.PartnerSlug(f.PartnerSlug))
	}
	if f.ActorEmail != "" {
		ps = append(ps, auditevent.ActorEmail(f.ActorEmail))
	}
	if f.Outcome != "" {
		ps = append(ps, auditevent.OutcomeEQ(f.Outcome))
	}
	if !f.Since.IsZero() {
		ps = append(ps, Since(f.Since))
	}
	if !f.Until.IsZero() {
		ps = append(ps, Until(f.Until))
	}
	if f.Q != "" {
		ps = append(ps, Text(f.Q))
	}
	return ps
}
