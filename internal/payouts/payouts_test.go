package payouts_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/payout"
	"github.com/dezky/platform/ent/subscriptionrevision"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/payouts"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/testing/moneyfixture"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var (
	sys      = viewer.SystemContext(context.Background())
	operator = viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "op", Email: "ops@dezky.example", Operator: true})
)

type fixture struct {
	*moneyfixture.Fixture
	s      *payouts.Service
	p1, p2 *ent.Partner
	alpha  *ent.TenantSubscription
}

// build writes the moneyfixture data set (its doc lists the
// subscriptions, margins and clock the figures below are computed from).
func build(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	mf := moneyfixture.Build(t, d)
	s := payouts.New(d.Client, tenancy.New(d.Client), nil)
	s.SetClock(func() time.Time { return moneyfixture.Clock })
	return &fixture{Fixture: mf, s: s, p1: mf.P1, p2: mf.P2, alpha: mf.Subscriptions["alpha"]}
}

type row struct {
	partner           string
	period, forPeriod string
	kind              payout.Kind
	currency          string
	gross, amount     int64
	pct, tenants      int
	status            payout.Status
}

func rows(t *testing.T, f *fixture, ps []*ent.Payout) []row {
	t.Helper()
	out := make([]row, len(ps))
	for i, p := range ps {
		name := "?"
		switch p.PartnerID {
		case f.p1.ID:
			name = "P1"
		case f.p2.ID:
			name = "P2"
		}
		out[i] = row{name, p.Period, p.ForPeriod, p.Kind, p.Currency, p.GrossMrr, p.Amount, p.MarginPct, p.Tenants, p.Status}
	}
	return out
}

func wantRows(t *testing.T, what string, got, want []row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows %+v, want %+v", what, len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: row %d = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

// TestPayoutsMatchHandComputedFigures checks every payout against the
// figures computed by hand from package moneyfixture's data, a second run
// changing nothing, a paid month never rewritten (its correction an
// adjustment in the next open month), and the refusals.
func TestPayoutsMatchHandComputedFigures(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := build(t, d)
		const R, A = payout.KindRegular, payout.KindAdjustment
		const pending, paid = payout.StatusPending, payout.StatusPaid

		// January, at its close: P1 EUR = alpha 120.00 + bravo 50.00
		// (600.00 a year / 12) = 170.00 × 20% = 34.00; P2 EUR = 24.00 ×
		// 10% = 2.40; charlie starts in February; echo has no partner.
		run, err := f.s.Generate(operator, "2026-01")
		if err != nil {
			t.Fatal(err)
		}
		jan := []row{
			{"P1", "2026-01", "2026-01", R, "EUR", 17000, 3400, 20, 2, pending},
			{"P2", "2026-01", "2026-01", R, "EUR", 2400, 240, 10, 1, pending},
		}
		wantRows(t, "January", rows(t, f, run.Payouts), jan)
		if run.Created != 2 || run.Updated != 0 || run.Adjustments != 0 {
			t.Fatalf("January run %+v", run)
		}
		audits := d.Client.AuditEvent.Query().Where(auditevent.Action("payouts.generated")).CountX(sys)
		again, err := f.s.Generate(operator, "2026-01")
		if err != nil || again.Created+again.Updated+again.Adjustments != 0 {
			t.Fatalf("second run changed something: %+v, %v", again, err)
		}
		wantRows(t, "January again", rows(t, f, again.Payouts), jan)
		if n := d.Client.AuditEvent.Query().Where(auditevent.Action("payouts.generated")).CountX(sys); n != audits {
			t.Fatalf("a run that changed nothing was audited (%d -> %d)", audits, n)
		}

		// Pay P1's January.
		p1Jan := run.Payouts[0]
		if _, err := f.s.MarkPaid(operator, p1Jan.ID, " SEPA-2026-01-NW "); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.MarkPaid(operator, p1Jan.ID, "again"); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("paying twice: %v", err)
		}

		// A late correction: alpha had 11 seats from 2026-01-20 (recorded
		// afterwards). January P1 EUR becomes 132.00 + 50.00 = 182.00 ×
		// 20% = 36.40: the paid 34.00 stays, +2.40 is adjusted in
		// February, the next month without a paid payout.
		d.Client.SubscriptionRevision.Create().SetSubscriptionID(f.alpha.ID).SetTenantID(f.alpha.TenantID).SetPartnerID(f.p1.ID).
			SetEffectiveAt(moneyfixture.Day("2026-01-20")).SetPlan(subscriptionrevision.PlanBusiness).SetInterval(subscriptionrevision.IntervalMonth).
			SetCurrency("EUR").SetUnitAmount(1200).SetPerSeat(true).SetSeats(11).SetStatus(subscriptionrevision.StatusActive).
			SetMrr(13200).SetReason("correction").ExecX(sys)
		run, err = f.s.Generate(operator, "2026-01")
		if err != nil {
			t.Fatal(err)
		}
		if run.Adjustments != 1 || run.Created != 0 || run.Updated != 0 {
			t.Fatalf("correction run %+v", run)
		}
		janCorrected := []row{
			{"P1", "2026-01", "2026-01", R, "EUR", 17000, 3400, 20, 2, paid},
			{"P1", "2026-02", "2026-01", A, "EUR", 18200, 240, 20, 2, pending},
			{"P2", "2026-01", "2026-01", R, "EUR", 2400, 240, 10, 1, pending},
		}
		wantRows(t, "January corrected", rows(t, f, run.Payouts), janCorrected)
		if again, _ := f.s.Generate(operator, "2026-01"); again.Adjustments+again.Created+again.Updated != 0 {
			t.Fatalf("the correction was applied twice: %+v", again)
		}

		// February, at its close: P1 EUR = alpha 180.00 (bravo canceled)
		// × 20% = 36.00; P1 USD = charlie 45.00 (past due still counts) ×
		// 20% = 9.00; P2 EUR = 2.40.
		if run, err = f.s.Generate(operator, "2026-02"); err != nil {
			t.Fatal(err)
		}
		wantRows(t, "February", rows(t, f, run.Payouts), []row{
			{"P1", "2026-02", "2026-02", R, "EUR", 18000, 3600, 20, 1, pending},
			{"P1", "2026-02", "2026-02", R, "USD", 4500, 900, 20, 1, pending},
			{"P2", "2026-02", "2026-02", R, "EUR", 2400, 240, 10, 1, pending},
		})
		// Payable in February: the three and January's adjustment.
		feb := "2026-02"
		listed, err := f.s.List(operator, payouts.Filter{Period: &feb})
		if err != nil || len(listed) != 4 {
			t.Fatalf("payouts payable in February: %d, %v", len(listed), err)
		}
		var owed int64
		for _, p := range listed {
			if p.PartnerID == f.p1.ID && p.Currency == "EUR" {
				owed += p.Amount
			}
		}
		if owed != 3600+240 {
			t.Fatalf("P1 is owed %d EUR in February, want 38.40", owed)
		}

		// March so far (the clock's now): P1's margin is 25%: EUR 180.00 ×
		// 25% = 45.00, USD 45.00 × 25% = 11.25; delta is paused: P2 earns
		// nothing.
		if run, err = f.s.Generate(operator, "2026-03"); err != nil {
			t.Fatal(err)
		}
		wantRows(t, "March", rows(t, f, run.Payouts), []row{
			{"P1", "2026-03", "2026-03", R, "EUR", 18000, 4500, 25, 1, pending},
			{"P1", "2026-03", "2026-03", R, "USD", 4500, 1125, 25, 1, pending},
		})

		// Partner staff see their own partner's payouts only.
		staff := viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "s2", Email: "s@southwind.example", PartnerID: f.p2.ID})
		mine, err := f.s.List(staff, payouts.Filter{})
		if err != nil || len(mine) != 2 {
			t.Fatalf("P2 staff see %d payouts (%v), want their 2", len(mine), err)
		}
		for _, p := range mine {
			if p.PartnerID != f.p2.ID {
				t.Fatalf("P2 staff see payout %+v", p)
			}
		}
		other := "northwind"
		if theirs, err := f.s.List(staff, payouts.Filter{PartnerSlug: &other}); err != nil || len(theirs) != 0 {
			t.Fatalf("P2 staff asking for P1's payouts get %d (%v)", len(theirs), err)
		}

		// Refusals.
		for _, c := range []struct {
			ctx    context.Context
			period string
			code   apperr.Code
		}{
			{operator, "2026-04", apperr.BadUserInput}, // not started
			{operator, "2026-13", apperr.BadUserInput},
			{operator, "March", apperr.BadUserInput},
			{staff, "2026-02", apperr.Forbidden},
		} {
			if _, err := f.s.Generate(c.ctx, c.period); apperr.CodeOf(err) != c.code {
				t.Errorf("Generate(%s): %v, want %s", c.period, err, c.code)
			}
		}
		if _, err := f.s.MarkPaid(staff, listed[0].ID, "x"); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("staff marking paid: %v", err)
		}
		if _, err := f.s.MarkPaid(operator, listed[0].ID, "  "); apperr.CodeOf(err) != apperr.BadUserInput {
			t.Errorf("blank reference: %v", err)
		}
		total := d.Client.Payout.Query().CountX(sys)
		if total != 3+3+2 {
			t.Fatalf("%d payout rows, want 8", total)
		}
	})
}

// TestMarginChangeAppliesFromNextMonth: changing a partner's margin keeps
// the old margin for every month up to the current one.
func TestMarginChangeAppliesFromNextMonth(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ts := tenancy.New(d.Client)
		p, err := ts.CreatePartner(operator, tenancy.CreatePartnerInput{Slug: "eastwind", Name: "Eastwind", MarginPct: ptr(15)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.UpdatePartner(operator, "eastwind", tenancy.UpdatePartnerInput{MarginPct: ptr(30)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.UpdatePartner(operator, "eastwind", tenancy.UpdatePartnerInput{MarginPct: ptr(35)}); err != nil {
			t.Fatal(err)
		}
		ms, err := ts.Margins(operator, p)
		if err != nil {
			t.Fatal(err)
		}
		this := tenancy.MonthStart(time.Now())
		if len(ms) != 2 || ms[0] != (tenancy.Margin{Pct: 15, From: this}) || ms[1] != (tenancy.Margin{Pct: 35, From: this.AddDate(0, 1, 0)}) {
			t.Fatalf("margins %+v", ms)
		}
		if got := tenancy.MarginIn(ms, this); got != 15 {
			t.Fatalf("margin this month %d, want 15", got)
		}
		if got := tenancy.MarginIn(ms, this.AddDate(0, 5, 0)); got != 35 {
			t.Fatalf("margin in five months %d, want 35", got)
		}
		if got := tenancy.MarginIn(ms, this.AddDate(-1, 0, 0)); got != 15 {
			t.Fatalf("margin a year ago %d, want the first version's 15", got)
		}
	})
}

func ptr[T any](v T) *T { return &v }
