// Package moneyfixture builds the subscription history the payout and
// report tests compute their figures from, by hand, in their doc
// comments:
//
//	tenant  partner  subscription                           changes
//	alpha   P1       BUSINESS EUR month, 10 × 12.00 = 120.00  from 2026-01-10; 15 seats (180.00) from 2026-02-20
//	bravo   P1       BUSINESS EUR year, 5 × 120.00 = 600.00   from 2026-01-05 (MRR 50.00); canceled 2026-02-10
//	charlie P1       BUSINESS USD month, 3 × 15.00 = 45.00    from 2026-02-01; PAST_DUE from 2026-02-25 (still owed)
//	delta   P2       BUSINESS EUR month, 4 × 6.00 = 24.00     from 2026-01-01; paused 2026-03-05
//	echo    none     STARTER EUR month, 1 × 10.00            from 2026-01-01 (a direct customer)
//	foxtrot P1       no subscription                          created 2026-03-02
//
// Each tenant is created when its subscription starts. P1's margin is 20%
// until February 2026 and 25% from March; P2's is 10% (never changed).
// Clock is 2026-03-15 12:00 UTC.
package moneyfixture

import (
	"context"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/viewer"
)

// Clock is the fixture's now.
var Clock = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// Day parses a YYYY-MM-DD date as midnight UTC.
func Day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// Fixture is the built data set.
type Fixture struct {
	P1, P2  *ent.Partner
	Tenants map[string]*ent.Tenant
	// Subscriptions by tenant slug.
	Subscriptions map[string]*ent.TenantSubscription
}

// Build writes the fixture into d.
func Build(t testing.TB, d *db.DB) *Fixture {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	c := d.Client
	f := &Fixture{Tenants: map[string]*ent.Tenant{}, Subscriptions: map[string]*ent.TenantSubscription{}}
	f.P1 = c.Partner.Create().SetSlug("northwind").SetName("Northwind").SetMarginPct(25).SaveX(sys)
	f.P2 = c.Partner.Create().SetSlug("southwind").SetName("Southwind").SetMarginPct(10).SaveX(sys)
	c.PartnerMargin.Create().SetPartnerID(f.P1.ID).SetPct(20).SetEffectiveFrom(Day("2025-12-01")).ExecX(sys)
	c.PartnerMargin.Create().SetPartnerID(f.P1.ID).SetPct(25).SetEffectiveFrom(Day("2026-03-01")).ExecX(sys)
	newTenant := func(slug string, p *ent.Partner, at string) int {
		cr := c.Tenant.Create().SetSlug(slug).SetName(slug).SetCreatedAt(Day(at))
		if p != nil {
			cr.SetPartnerID(p.ID)
		}
		tn := cr.SaveX(sys)
		f.Tenants[slug] = tn
		return tn.ID
	}
	sub := func(slug string, p *ent.Partner, plan tenantsubscription.Plan, interval tenantsubscription.Interval, currency string, unit int64, seats int, at string) {
		s, err := subscriptions.Create(sys, c, newTenant(slug, p, at), subscriptions.State{Plan: plan, Interval: interval,
			Currency: currency, UnitAmount: unit, PerSeat: true, Seats: seats, Status: tenantsubscription.StatusActive}, Day(at), nil)
		if err != nil {
			t.Fatal(err)
		}
		f.Subscriptions[slug] = s
	}
	update := func(slug, at string, edit func(*ent.TenantSubscriptionUpdateOne)) {
		s, err := subscriptions.Update(sys, c, f.Subscriptions[slug], Day(at), "fixture", edit)
		if err != nil {
			t.Fatal(err)
		}
		f.Subscriptions[slug] = s
	}
	business, starter := tenantsubscription.PlanBusiness, tenantsubscription.PlanStarter
	month, year := tenantsubscription.IntervalMonth, tenantsubscription.IntervalYear
	sub("alpha", f.P1, business, month, "EUR", 1200, 10, "2026-01-10")
	update("alpha", "2026-02-20", func(u *ent.TenantSubscriptionUpdateOne) { u.SetSeats(15) })
	sub("bravo", f.P1, business, year, "EUR", 12000, 5, "2026-01-05")
	update("bravo", "2026-02-10", func(u *ent.TenantSubscriptionUpdateOne) { u.SetStatus(tenantsubscription.StatusCanceled) })
	sub("charlie", f.P1, business, month, "USD", 1500, 3, "2026-02-01")
	update("charlie", "2026-02-25", func(u *ent.TenantSubscriptionUpdateOne) { u.SetStatus(tenantsubscription.StatusPastDue) })
	sub("delta", f.P2, business, month, "EUR", 600, 4, "2026-01-01")
	update("delta", "2026-03-05", func(u *ent.TenantSubscriptionUpdateOne) { u.SetStatus(tenantsubscription.StatusPaused) })
	sub("echo", nil, starter, month, "EUR", 1000, 1, "2026-01-01")
	newTenant("foxtrot", f.P1, "2026-03-02")
	return f
}
