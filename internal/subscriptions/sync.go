package subscriptions

import (
	"context"
	"fmt"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/price"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/rule"
)

// DefaultCurrency is the currency a new subscription is sold in when its
// price offers it; otherwise the price's first currency.
const DefaultCurrency = "EUR"

// Of returns tenantID's subscription row, nil when it has none. It reads
// past the viewer (the caller decides who sees it).
func Of(ctx context.Context, root *ent.Client, tenantID int) (*ent.TenantSubscription, error) {
	sub, err := db.Client(ctx, root).TenantSubscription.Query().
		Where(tenantsubscription.TenantID(tenantID)).Only(rule.Bypass(ctx))
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("subscription of tenant %d: %w", tenantID, err)
	}
	return sub, nil
}

// AmountIn returns p's amount in currency (upper case) and whether p is
// sold in it.
func AmountIn(p *ent.Price, currency string) (int64, bool) {
	for _, m := range p.Amounts {
		if m.Currency == currency {
			return m.Amount, true
		}
	}
	return 0, false
}

// Sync brings t's subscription to what the tenant should pay now, in one
// transaction (joining ctx's), appending a revision with reason when the
// money state changes:
//
//   - a deleted tenant, one without seats, or one whose plan has no price
//     in the catalog (the free plan) has no live subscription: an existing
//     one is CANCELED;
//   - otherwise the subscription is sold at the price it already has when
//     that price is still for the tenant's plan (even if archived since:
//     archiving stops new sales only), else at the plan's active price
//     (MONTH before YEAR), in the currency it already has when the price
//     offers it, else DefaultCurrency, else the price's first; seats are
//     the tenant's; status is PAUSED for a suspended tenant, PAST_DUE stays
//     PAST_DUE (only a payment clears it), else ACTIVE. A CANCELED
//     subscription that becomes billable again starts over: its provider
//     subscription is forgotten so that a new one is created.
//
// It returns the row (nil when the tenant never had one and needs none).
// Sync writes past the viewer: the caller's change is what entitles it.
func Sync(ctx context.Context, root *ent.Client, t *ent.Tenant, at time.Time, reason string) (*ent.TenantSubscription, error) {
	var out *ent.TenantSubscription
	err := db.WithTx(rule.Bypass(ctx), root, func(ctx context.Context) error {
		c := db.Client(ctx, root)
		cur, err := Of(ctx, root, t.ID)
		if err != nil {
			return err
		}
		out = cur
		var p *ent.Price
		if t.Status != tenant.StatusDeleted && t.Seats >= 1 {
			if p, err = priceFor(ctx, c, t.Plan, cur); err != nil {
				return err
			}
		}
		if p == nil {
			if cur == nil || cur.Status == tenantsubscription.StatusCanceled {
				return nil
			}
			out, err = Update(ctx, root, cur, at, reason, func(u *ent.TenantSubscriptionUpdateOne) {
				u.SetStatus(tenantsubscription.StatusCanceled)
			})
			return err
		}
		st := State{PriceID: &p.ID, Plan: tenantsubscription.Plan(p.Plan), Interval: tenantsubscription.Interval(p.Interval),
			PerSeat: p.PerSeat, Seats: t.Seats, Status: tenantsubscription.StatusActive}
		st.Currency, st.UnitAmount = pickAmount(p, cur)
		switch {
		case t.Status == tenant.StatusSuspended:
			st.Status = tenantsubscription.StatusPaused
		case cur != nil && cur.Status == tenantsubscription.StatusPastDue:
			st.Status = tenantsubscription.StatusPastDue
		}
		if cur == nil {
			out, err = Create(ctx, root, t.ID, st, at, nil)
			return err
		}
		restart := cur.Status == tenantsubscription.StatusCanceled
		out, err = Update(ctx, root, cur, at, reason, func(u *ent.TenantSubscriptionUpdateOne) {
			u.SetPriceID(p.ID).SetPlan(st.Plan).SetInterval(st.Interval).SetCurrency(st.Currency).
				SetUnitAmount(st.UnitAmount).SetPerSeat(st.PerSeat).SetSeats(st.Seats).SetStatus(st.Status)
			if restart {
				u.ClearCanceledAt().SetProviderSubscriptionID("").SetProviderPriceID("").ClearCurrentPeriodEnd()
			}
		})
		return err
	})
	return out, err
}

// priceFor is the price t's plan is sold at given the current
// subscription (see Sync), nil when the plan has none.
func priceFor(ctx context.Context, c *ent.Client, plan tenant.Plan, cur *ent.TenantSubscription) (*ent.Price, error) {
	if cur != nil && cur.PriceID != nil {
		p, err := c.Price.Get(ctx, *cur.PriceID)
		if err != nil && !ent.IsNotFound(err) {
			return nil, fmt.Errorf("price %d: %w", *cur.PriceID, err)
		}
		if p != nil && string(p.Plan) == string(plan) && len(p.Amounts) > 0 {
			return p, nil
		}
	}
	p, err := c.Price.Query().
		Where(price.PlanEQ(price.Plan(plan)), price.Active(true)).
		Order(ent.Asc(price.FieldInterval), ent.Asc(price.FieldID)).First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("price of plan %s: %w", plan, err)
	}
	if len(p.Amounts) == 0 {
		return nil, nil
	}
	return p, nil
}

// pickAmount chooses the currency and amount of p a subscription is sold
// in (see Sync).
func pickAmount(p *ent.Price, cur *ent.TenantSubscription) (string, int64) {
	if cur != nil {
		if a, ok := AmountIn(p, cur.Currency); ok {
			return cur.Currency, a
		}
	}
	if a, ok := AmountIn(p, DefaultCurrency); ok {
		return DefaultCurrency, a
	}
	return p.Amounts[0].Currency, p.Amounts[0].Amount
}
