package reports_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/subscriptionrevision"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/payouts"
	"github.com/dezky/platform/internal/reports"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// seedRevisions writes tenants subscriptions spread over partners, each
// with a revision per month of 2025 (a seat change every month), and
// returns the partners.
func seedRevisions(b *testing.B, c *ent.Client, tenants, partners int) []*ent.Partner {
	b.Helper()
	ctx := viewer.SystemContext(context.Background())
	ps := make([]*ent.Partner, partners)
	for i := range ps {
		ps[i] = c.Partner.Create().SetSlug(fmt.Sprintf("p%03d", i)).SetName("P").SetMarginPct(20).SaveX(ctx)
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < tenants; i++ {
		p := ps[i%partners]
		tn := c.Tenant.Create().SetSlug(fmt.Sprintf("t%05d", i)).SetName("T").SetPartnerID(p.ID).SetCreatedAt(start).SaveX(ctx)
		sub := c.TenantSubscription.Create().SetTenantID(tn.ID).SetPlan(tenantsubscription.PlanBusiness).
			SetInterval(tenantsubscription.IntervalMonth).SetCurrency("EUR").SetUnitAmount(1200).SetSeats(5).SaveX(ctx)
		bulk := make([]*ent.SubscriptionRevisionCreate, 12)
		for m := range bulk {
			seats := 5 + (i+m)%7
			bulk[m] = c.SubscriptionRevision.Create().SetSubscriptionID(sub.ID).SetTenantID(tn.ID).SetPartnerID(p.ID).
				SetEffectiveAt(start.AddDate(0, m, i%28)).SetPlan(subscriptionrevision.PlanBusiness).
				SetInterval(subscriptionrevision.IntervalMonth).SetCurrency("EUR").SetUnitAmount(1200).SetPerSeat(true).
				SetSeats(seats).SetStatus(subscriptionrevision.StatusActive).SetMrr(int64(1200 * seats)).SetReason("bench")
		}
		c.SubscriptionRevision.CreateBulk(bulk...).ExecX(ctx)
	}
	return ps
}

// BenchmarkReports measures the platform report over a year and one
// month's payout generation on 2,000 subscriptions (24,000 revisions) of
// 20 partners, on each database.
func BenchmarkReports(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			d := testdb.Open(b, dialect)
			ps := seedRevisions(b, d.Client, 2000, 20)
			operator := viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "op", Operator: true})
			clock := func() time.Time { return time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC) }
			rs := reports.New(d.Client)
			rs.SetClock(clock)
			b.Run("platformReport-12-months", func(b *testing.B) {
				for b.Loop() {
					if _, err := rs.Platform(operator, "2025-01", "2025-12"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("partnerReport-12-months", func(b *testing.B) {
				for b.Loop() {
					if _, err := rs.Partner(operator, ps[0].Slug, "2025-01", "2025-12"); err != nil {
						b.Fatal(err)
					}
				}
			})
			ps2 := payouts.New(d.Client, tenancy.New(d.Client), nil)
			ps2.SetClock(clock)
			b.Run("generatePayouts-month", func(b *testing.B) {
				for b.Loop() {
					if _, err := ps2.Generate(operator, "2025-06"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
