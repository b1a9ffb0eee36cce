package subscriptions_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/subscriptionrevision"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

func TestRevisionsFollowMoneyChanges(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := viewer.SystemContext(context.Background())
		c := d.Client
		p := c.Partner.Create().SetSlug("northwind").SetName("Northwind").SaveX(ctx)
		tn := c.Tenant.Create().SetSlug("acme").SetName("Acme").SetSeats(5).SetPartnerID(p.ID).SaveX(ctx)
		t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

		sub, err := subscriptions.Create(ctx, c, tn.ID, subscriptions.State{
			Plan: tenantsubscription.PlanStarter, Interval: tenantsubscription.IntervalYear, Currency: "eur",
			UnitAmount: 6000, PerSeat: true, Seats: 5, Status: tenantsubscription.StatusActive,
		}, t0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Currency != "EUR" {
			t.Fatalf("currency %q, want EUR", sub.Currency)
		}
		// A change that touches no money field writes no revision.
		if _, err := subscriptions.Update(ctx, c, sub, t0.Add(time.Hour), "provider", func(u *ent.TenantSubscriptionUpdateOne) {
			u.SetProviderSubscriptionID("sub_1")
		}); err != nil {
			t.Fatal(err)
		}
		sub, err = subscriptions.Update(ctx, c, sub, t0.Add(48*time.Hour), "seats", func(u *ent.TenantSubscriptionUpdateOne) { u.SetSeats(7) })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := subscriptions.Update(ctx, c, sub, t0.Add(72*time.Hour), "canceled", func(u *ent.TenantSubscriptionUpdateOne) {
			u.SetStatus(tenantsubscription.StatusCanceled)
		}); err != nil {
			t.Fatal(err)
		}
		revs := c.SubscriptionRevision.Query().Order(ent.Asc(subscriptionrevision.FieldEffectiveAt)).AllX(ctx)
		var got []int64
		var reasons []string
		for _, r := range revs {
			got = append(got, r.Mrr)
			reasons = append(reasons, r.Reason)
			if r.PartnerID == nil || *r.PartnerID != p.ID {
				t.Errorf("revision %s: partner %v, want %d", r.Reason, r.PartnerID, p.ID)
			}
		}
		// 5 × 60.00/year = 25.00/month; 7 × 60.00/year = 35.00/month; canceled 0.
		if want := []int64{2500, 3500, 0}; !equal(got, want) {
			t.Fatalf("revision MRRs %v (%v), want %v", got, reasons, want)
		}
		if s := c.TenantSubscription.GetX(ctx, sub.ID); s.CanceledAt == nil || !s.CanceledAt.Equal(t0.Add(72*time.Hour)) {
			t.Errorf("canceled_at %v", s.CanceledAt)
		}
	})
}

func TestCreateRefusesBadCurrencyAndWritesNothing(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := viewer.SystemContext(context.Background())
		tn := d.Client.Tenant.Create().SetSlug("acme").SetName("Acme").SaveX(ctx)
		_, err := subscriptions.Create(ctx, d.Client, tn.ID, subscriptions.State{
			Plan: tenantsubscription.PlanStarter, Interval: tenantsubscription.IntervalMonth, Currency: "XAU",
			UnitAmount: 600, PerSeat: true, Seats: 1, Status: tenantsubscription.StatusActive,
		}, time.Now(), nil)
		if err == nil {
			t.Fatal("a subscription in XAU was created")
		}
		if n := d.Client.TenantSubscription.Query().CountX(ctx) + d.Client.SubscriptionRevision.Query().CountX(ctx); n != 0 {
			t.Fatalf("%d rows written", n)
		}
	})
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
