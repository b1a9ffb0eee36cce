// Package subscriptions keeps a tenant's subscription row and its revision
// history together: every write of a money-relevant field goes through
// Create or Update here, which append a SubscriptionRevision in the same
// transaction. Payouts and reports read only the revisions, so a figure
// computed from them is reproducible; nothing else may write
// TenantSubscription's money fields.
//
// The callers hold the privileges: subscriptions are changed by operators
// and by the system (billing services, webhooks, provisioning), never
// directly by a tenant.
package subscriptions

import (
	"context"
	"fmt"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/subscriptionrevision"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/money"
)

// State is the money-relevant state of a subscription.
type State struct {
	PriceID    *int
	Plan       tenantsubscription.Plan
	Interval   tenantsubscription.Interval
	Currency   string // ISO 4217, upper case
	UnitAmount int64  // minor units per interval (per seat when PerSeat)
	PerSeat    bool
	Seats      int
	Status     tenantsubscription.Status
}

// StateOf is the state of a subscription row.
func StateOf(s *ent.TenantSubscription) State {
	return State{PriceID: s.PriceID, Plan: s.Plan, Interval: s.Interval, Currency: s.Currency,
		UnitAmount: s.UnitAmount, PerSeat: s.PerSeat, Seats: s.Seats, Status: s.Status}
}

// Counts reports whether a subscription in status s earns revenue: ACTIVE
// and PAST_DUE do (the invoice is owed), PAUSED and CANCELED do not.
func Counts(s tenantsubscription.Status) bool {
	return s == tenantsubscription.StatusActive || s == tenantsubscription.StatusPastDue
}

// MRR is the monthly recurring revenue of st in minor units of its
// currency: 0 unless it Counts, else money.MonthlyRecurring of its cycle
// amount.
func MRR(st State) int64 {
	if !Counts(st.Status) {
		return 0
	}
	return money.MonthlyRecurring(money.CycleAmount(st.UnitAmount, st.PerSeat, st.Seats), money.Interval(st.Interval))
}

// Create creates tenantID's subscription in state st at time at and its
// first revision (reason "created"), in one transaction (joining ctx's).
// edit may set the provider fields of the new row; it must not set money
// fields.
func Create(ctx context.Context, root *ent.Client, tenantID int, st State, at time.Time, edit func(*ent.TenantSubscriptionCreate)) (*ent.TenantSubscription, error) {
	cur, err := money.Currency(st.Currency)
	if err != nil {
		return nil, err
	}
	st.Currency = cur
	var sub *ent.TenantSubscription
	err = db.WithTx(ctx, root, func(ctx context.Context) error {
		c := db.Client(ctx, root)
		create := c.TenantSubscription.Create().SetTenantID(tenantID).SetNillablePriceID(st.PriceID).
			SetPlan(st.Plan).SetInterval(st.Interval).SetCurrency(st.Currency).SetUnitAmount(st.UnitAmount).
			SetPerSeat(st.PerSeat).SetSeats(st.Seats).SetStatus(st.Status)
		if st.Status == tenantsubscription.StatusCanceled {
			create.SetCanceledAt(at.UTC())
		}
		if edit != nil {
			edit(create)
		}
		var err error
		if sub, err = create.Save(ctx); err != nil {
			return fmt.Errorf("create subscription of tenant %d: %w", tenantID, err)
		}
		return appendRevision(ctx, c, sub, at, "created")
	})
	return sub, err
}

// Update applies edit to sub and saves it; when the money-relevant state
// (or, with reason "partner", the tenant's partner) changed, it appends a
// revision effective at with the given reason — all in one transaction
// (joining ctx's). edit may change any field; status CANCELED sets
// canceled_at. It returns the saved row.
func Update(ctx context.Context, root *ent.Client, sub *ent.TenantSubscription, at time.Time, reason string, edit func(*ent.TenantSubscriptionUpdateOne)) (*ent.TenantSubscription, error) {
	var out *ent.TenantSubscription
	err := db.WithTx(ctx, root, func(ctx context.Context) error {
		c := db.Client(ctx, root)
		upd := c.TenantSubscription.UpdateOneID(sub.ID)
		edit(upd)
		if s, ok := upd.Mutation().Status(); ok && s == tenantsubscription.StatusCanceled && sub.Status != s {
			upd.SetCanceledAt(at.UTC())
		}
		if c, ok := upd.Mutation().Currency(); ok {
			cur, err := money.Currency(c)
			if err != nil {
				return err
			}
			upd.SetCurrency(cur)
		}
		var err error
		if out, err = upd.Save(ctx); err != nil {
			return fmt.Errorf("update subscription %d: %w", sub.ID, err)
		}
		last, err := c.SubscriptionRevision.Query().
			Where(subscriptionrevision.SubscriptionID(sub.ID)).
			Order(ent.Desc(subscriptionrevision.FieldEffectiveAt), ent.Desc(subscriptionrevision.FieldID)).
			First(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return fmt.Errorf("last revision of subscription %d: %w", sub.ID, err)
		}
		if last != nil && revisionState(last) == stateKey(StateOf(out)) && reason != "partner" {
			return nil
		}
		return appendRevision(ctx, c, out, at, reason)
	})
	return out, err
}

type key struct {
	plan, interval, currency, status string
	unit                             int64
	perSeat                          bool
	seats                            int
}

func stateKey(st State) key {
	return key{string(st.Plan), string(st.Interval), st.Currency, string(st.Status), st.UnitAmount, st.PerSeat, st.Seats}
}

func revisionState(r *ent.SubscriptionRevision) key {
	return key{string(r.Plan), string(r.Interval), r.Currency, string(r.Status), r.UnitAmount, r.PerSeat, r.Seats}
}

func appendRevision(ctx context.Context, c *ent.Client, sub *ent.TenantSubscription, at time.Time, reason string) error {
	t, err := c.Tenant.Query().Where(tenant.ID(sub.TenantID)).Select(tenant.FieldPartnerID).Only(ctx)
	if err != nil {
		return fmt.Errorf("tenant of subscription %d: %w", sub.ID, err)
	}
	st := StateOf(sub)
	err = c.SubscriptionRevision.Create().
		SetSubscriptionID(sub.ID).SetTenantID(sub.TenantID).SetNillablePartnerID(t.PartnerID).
		SetEffectiveAt(at.UTC()).
		SetPlan(subscriptionrevision.Plan(st.Plan)).SetInterval(subscriptionrevision.Interval(st.Interval)).
		SetCurrency(st.Currency).SetUnitAmount(st.UnitAmount).SetPerSeat(st.PerSeat).SetSeats(st.Seats).
		SetStatus(subscriptionrevision.Status(st.Status)).SetMrr(MRR(st)).SetReason(reason).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("append revision of subscription %d: %w", sub.ID, err)
	}
	return nil
}
