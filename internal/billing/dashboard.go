package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/tenancy"
)

// RecentAuditEvents is how many audit events the dashboard shows.
const RecentAuditEvents = 5

// Dashboard is a tenant's overview for its admins.
type Dashboard struct {
	// SeatsUsed counts the members holding a seat (every membership that
	// is not being removed); SeatsTotal is the seats the tenant pays for.
	SeatsUsed  int
	SeatsTotal int
	Plan       tenant.Plan
	// MonthlySpend is the subscription's cycle-normalised monthly amount
	// (its MRR), nil without a live subscription.
	MonthlySpend *schematype.Money
	// RenewsAt is the end of the current billing period, nil when unknown
	// or the subscription is not live.
	RenewsAt *time.Time
	// RecentAudit are the tenant's newest audit events the viewer may see.
	RecentAudit []*ent.AuditEvent
}

// Dashboard returns t's overview.
func (s *Service) Dashboard(ctx context.Context, t *ent.Tenant) (*Dashboard, error) {
	if err := tenancy.RequireAdmin(ctx, t); err != nil {
		return nil, err
	}
	c := s.client(ctx)
	used, err := c.Membership.Query().Where(membership.TenantID(t.ID), membership.StatusNEQ(membership.StatusRemoving)).Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: seats of %s: %w", t.Slug, err)
	}
	out := &Dashboard{SeatsUsed: used, SeatsTotal: t.Seats, Plan: t.Plan}
	sub, err := subscriptions.Of(ctx, s.cfg.Client, t.ID)
	if err != nil {
		return nil, err
	}
	if sub != nil && sub.Status != tenantsubscription.StatusCanceled {
		out.MonthlySpend = &schematype.Money{Amount: subscriptions.MRR(subscriptions.StateOf(sub)), Currency: sub.Currency}
		if sub.Status != tenantsubscription.StatusPaused {
			out.RenewsAt = sub.CurrentPeriodEnd
		}
	}
	out.RecentAudit, err = c.AuditEvent.Query().Where(auditevent.TenantID(t.ID)).
		Order(ent.Desc(auditevent.FieldAt), ent.Desc(auditevent.FieldID)).Limit(RecentAuditEvents).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: recent audit of %s: %w", t.Slug, err)
	}
	return out, nil
}
