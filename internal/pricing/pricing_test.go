package pricing_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/price"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/subscriptionrevision"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/pricing"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var (
	sys      = viewer.SystemContext(context.Background())
	operator = viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "op", Email: "ops@dezky.example", Operator: true})
	staff    = viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "staff", Email: "staff@partner.example"})
)

func eur(a int64) schematype.Money { return schematype.Money{Amount: a, Currency: "EUR"} }
func usd(a int64) schematype.Money { return schematype.Money{Amount: a, Currency: "USD"} }

func counts(t *testing.T, c *ent.Client) (prices, events int) {
	t.Helper()
	return c.Price.Query().CountX(sys), c.AuditEvent.Query().CountX(sys)
}

func TestEnsureDefaultsFillsAnEmptyCatalogOnce(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		n, err := pricing.EnsureDefaults(context.Background(), d.Client)
		if err != nil || n != len(pricing.DefaultPrices()) || n == 0 {
			t.Fatalf("first EnsureDefaults: %d, %v", n, err)
		}
		if n, err := pricing.EnsureDefaults(context.Background(), d.Client); err != nil || n != 0 {
			t.Fatalf("second EnsureDefaults created %d (%v), want 0", n, err)
		}
		got, err := pricing.New(d.Client, nil).List(staff, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got {
			if p.Plan == price.PlanFree || !p.PerSeat || p.Interval != price.IntervalMonth || len(p.Amounts) != 1 || p.Amounts[0].Currency != "EUR" {
				t.Errorf("default price %+v", p)
			}
		}
		if _, err := pricing.New(d.Client, nil).List(context.Background(), nil, false); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Fatalf("anonymous list: %v, want UNAUTHENTICATED", err)
		}
	})
}

// TestCreateValidatesAndWritesNothingOnError: every refusal has its
// code, names its field, and leaves no row and no audit event behind.
func TestCreateValidatesAndWritesNothingOnError(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		s := pricing.New(d.Client, nil)
		good := pricing.CreateInput{Plan: tenant.PlanBusiness, Interval: price.IntervalMonth, PerSeat: true,
			Amounts: []schematype.Money{{Amount: 1400, Currency: "usd"}, {Amount: 1200, Currency: "eur"}}}
		p, err := s.Create(operator, good)
		if err != nil {
			t.Fatal(err)
		}
		if want := []schematype.Money{eur(1200), usd(1400)}; !slices.Equal(p.Amounts, want) || !p.Active {
			t.Fatalf("created %+v, want amounts %v upper-cased and sorted", p, want)
		}
		if n := d.Client.AuditEvent.Query().Where(auditevent.Action("price.created")).CountX(sys); n != 1 {
			t.Fatalf("%d price.created events, want 1", n)
		}
		bad := func(mod func(*pricing.CreateInput)) pricing.CreateInput {
			in := good
			in.Amounts = slices.Clone(good.Amounts)
			in.Interval = price.IntervalYear // free of the MONTH conflict
			mod(&in)
			return in
		}
		cases := []struct {
			name  string
			ctx   context.Context
			in    pricing.CreateInput
			code  apperr.Code
			field string
		}{
			{"not an operator", staff, bad(func(*pricing.CreateInput) {}), apperr.Forbidden, ""},
			{"free plan", operator, bad(func(in *pricing.CreateInput) { in.Plan = tenant.PlanFree }), apperr.BadUserInput, "plan"},
			{"unknown plan", operator, bad(func(in *pricing.CreateInput) { in.Plan = "GOLD" }), apperr.BadUserInput, "plan"},
			{"unknown interval", operator, bad(func(in *pricing.CreateInput) { in.Interval = "WEEK" }), apperr.BadUserInput, "interval"},
			{"no amounts", operator, bad(func(in *pricing.CreateInput) { in.Amounts = nil }), apperr.BadUserInput, "amounts"},
			{"not a currency", operator, bad(func(in *pricing.CreateInput) { in.Amounts[0].Currency = "EURO" }), apperr.BadUserInput, "amounts[0].currency"},
			{"currency twice", operator, bad(func(in *pricing.CreateInput) { in.Amounts[1].Currency = "USD" }), apperr.BadUserInput, "amounts[1].currency"},
			{"zero amount", operator, bad(func(in *pricing.CreateInput) { in.Amounts[1].Amount = 0 }), apperr.BadUserInput, "amounts[1].amount"},
			{"negative amount", operator, bad(func(in *pricing.CreateInput) { in.Amounts[0].Amount = -5 }), apperr.BadUserInput, "amounts[0].amount"},
			{"amount too large", operator, bad(func(in *pricing.CreateInput) { in.Amounts[0].Amount = pricing.MaxAmount + 1 }), apperr.BadUserInput, "amounts[0].amount"},
			{"second active price", operator, good, apperr.Conflict, ""},
		}
		prices, events := counts(t, d.Client)
		for _, tc := range cases {
			_, err := s.Create(tc.ctx, tc.in)
			e, ok := apperr.As(err)
			if !ok || e.Code != tc.code || e.Field != tc.field {
				t.Errorf("%s: %v, want %s on %q", tc.name, err, tc.code, tc.field)
			}
		}
		if p2, e2 := counts(t, d.Client); p2 != prices || e2 != events {
			t.Fatalf("refused creates wrote: prices %d → %d, audit events %d → %d", prices, p2, events, e2)
		}

		// Archiving frees the interval for a new price; archiving twice
		// changes nothing.
		if _, err := s.Archive(staff, p.ID); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("archive by staff: %v", err)
		}
		a, err := s.Archive(operator, p.ID)
		if err != nil || a.Active {
			t.Fatalf("archive: %+v, %v", a, err)
		}
		if _, err := s.Archive(operator, p.ID); err != nil {
			t.Fatal(err)
		}
		if n := d.Client.AuditEvent.Query().Where(auditevent.Action("price.archived")).CountX(sys); n != 1 {
			t.Fatalf("%d price.archived events, want 1", n)
		}
		if _, err := s.Create(operator, good); err != nil {
			t.Fatalf("create after archive: %v", err)
		}
		if active, _ := s.List(staff, ptr(tenant.PlanBusiness), false); len(active) != 1 {
			t.Fatalf("%d active BUSINESS prices, want 1", len(active))
		}
		if all, _ := s.List(staff, ptr(tenant.PlanBusiness), true); len(all) != 2 {
			t.Fatalf("%d BUSINESS prices with archived, want 2", len(all))
		}
	})
}

func ptr[T any](v T) *T { return &v }

// world is a price with subscriptions in every state, in two currencies.
type world struct {
	price *ent.Price
	subs  map[string]*ent.TenantSubscription
}

func buildWorld(t *testing.T, c *ent.Client) *world {
	t.Helper()
	s := pricing.New(c, nil)
	p, err := s.Create(operator, pricing.CreateInput{Plan: tenant.PlanBusiness, Interval: price.IntervalMonth, PerSeat: true,
		Amounts: []schematype.Money{eur(1200), usd(1400)}})
	if err != nil {
		t.Fatal(err)
	}
	p = c.Price.UpdateOne(p).SetProviderPrices([]schematype.ProviderPrice{
		{Currency: "EUR", ProviderPriceID: "price_eur_1200", Amount: 1200},
		{Currency: "USD", ProviderPriceID: "price_usd_1400", Amount: 1400},
	}).SaveX(sys)
	w := &world{price: p, subs: map[string]*ent.TenantSubscription{}}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, x := range []struct {
		slug     string
		currency string
		amount   int64
		seats    int
		status   tenantsubscription.Status
	}{
		{"alpha", "EUR", 1200, 5, tenantsubscription.StatusActive},
		{"bravo", "EUR", 1200, 3, tenantsubscription.StatusPaused},
		{"charlie", "USD", 1400, 2, tenantsubscription.StatusActive},
		{"delta", "EUR", 1200, 4, tenantsubscription.StatusCanceled},
		{"echo", "EUR", 1200, 2, tenantsubscription.StatusPastDue},
	} {
		tn := c.Tenant.Create().SetSlug(x.slug).SetName(x.slug).SetPlan(tenant.PlanBusiness).SetSeats(x.seats).SaveX(sys)
		sub, err := subscriptions.Create(sys, c, tn.ID, subscriptions.State{PriceID: &p.ID, Plan: tenantsubscription.PlanBusiness,
			Interval: tenantsubscription.IntervalMonth, Currency: x.currency, UnitAmount: x.amount, PerSeat: true, Seats: x.seats,
			Status: x.status}, at, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.subs[x.slug] = sub
	}
	return w
}

// TestImpactAndUpdate checks a price edit's preview and effect against
// figures computed by hand:
//
//	alpha   EUR 5 seats ACTIVE    12.00 → 15.00   MRR 60.00 → 75.00
//	bravo   EUR 3 seats PAUSED    12.00 → 15.00   MRR  0.00 →  0.00
//	charlie USD 2 seats ACTIVE    14.00 unchanged (not listed)
//	delta   EUR 4 seats CANCELED  (not listed)
//	echo    EUR 2 seats PAST_DUE  12.00 → 15.00   MRR 24.00 → 30.00
//
// EUR total 84.00 → 105.00; CHF is added and sold to nobody yet.
func TestImpactAndUpdate(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		c := d.Client
		w := buildWorld(t, c)
		s := pricing.New(c, nil)
		edit := pricing.UpdateInput{Amounts: []schematype.Money{{Amount: 1300, Currency: "chf"}, eur(1500), usd(1400)}}

		if _, err := s.Impact(staff, w.price.ID, edit); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("impact by staff: %v", err)
		}
		revisions := c.SubscriptionRevision.Query().CountX(sys)
		imp, err := s.Impact(operator, w.price.ID, edit)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			slug                            string
			before, after, mrrBefore, mrrAf int64
		}
		var got []row
		for _, a := range imp.Subscriptions {
			got = append(got, row{a.Tenant.Slug, a.Before, a.After, a.MRRBefore, a.MRRAfter})
		}
		want := []row{{"alpha", 1200, 1500, 6000, 7500}, {"bravo", 1200, 1500, 0, 0}, {"echo", 1200, 1500, 2400, 3000}}
		if !slices.Equal(got, want) {
			t.Fatalf("impact %+v, want %+v", got, want)
		}
		if !slices.Equal(imp.MRRBefore, []schematype.Money{eur(8400)}) || !slices.Equal(imp.MRRAfter, []schematype.Money{eur(10500)}) {
			t.Fatalf("impact totals %v → %v, want EUR 8400 → 10500", imp.MRRBefore, imp.MRRAfter)
		}
		if !slices.Equal(imp.Amounts, []schematype.Money{{Amount: 1300, Currency: "CHF"}, eur(1500), usd(1400)}) {
			t.Fatalf("impact amounts %v", imp.Amounts)
		}
		if n := c.SubscriptionRevision.Query().CountX(sys); n != revisions || c.Price.GetX(sys, w.price.ID).Amounts[0] != eur(1200) {
			t.Fatal("impact changed something")
		}

		// A bad edit is refused whole.
		if _, err := s.Update(operator, w.price.ID, pricing.UpdateInput{Amounts: []schematype.Money{eur(1500), eur(1600)}}); apperr.CodeOf(err) != apperr.BadUserInput {
			t.Fatalf("edit with EUR twice: %v", err)
		}
		if _, err := s.Update(operator, 999999, edit); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("edit of a missing price: %v", err)
		}

		p, err := s.Update(operator, w.price.ID, edit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Amounts, imp.Amounts) {
			t.Fatalf("amounts after edit %v", p.Amounts)
		}
		// The EUR provider price is immutable and now stale: forgotten so
		// the next billing run mints one at 15.00; USD's is kept.
		if want := []schematype.ProviderPrice{{Currency: "USD", ProviderPriceID: "price_usd_1400", Amount: 1400}}; !slices.Equal(p.ProviderPrices, want) {
			t.Fatalf("provider prices after edit %+v, want %+v", p.ProviderPrices, want)
		}
		for slug, want := range map[string]int64{"alpha": 1500, "bravo": 1500, "charlie": 1400, "delta": 1200, "echo": 1500} {
			sub := c.TenantSubscription.GetX(sys, w.subs[slug].ID)
			if sub.UnitAmount != want {
				t.Errorf("%s unit amount %d, want %d", slug, sub.UnitAmount, want)
			}
			edited := c.SubscriptionRevision.Query().Where(subscriptionrevision.SubscriptionID(sub.ID),
				subscriptionrevision.ReasonContains("edited")).CountX(sys)
			if repriced := want == 1500; (edited == 1) != repriced || edited > 1 {
				t.Errorf("%s: %d revisions for the edit", slug, edited)
			}
		}
		ev := c.AuditEvent.Query().Where(auditevent.Action("price.updated")).OnlyX(sys)
		if ev.ActorEmail != "ops@dezky.example" || ev.Metadata["repriced"] != float64(3) && ev.Metadata["repriced"] != 3 {
			t.Fatalf("price.updated event %+v", ev)
		}

		// The same edit again changes nothing and records nothing.
		_, events := counts(t, c)
		revisions = c.SubscriptionRevision.Query().CountX(sys)
		if _, err := s.Update(operator, w.price.ID, edit); err != nil {
			t.Fatal(err)
		}
		if _, e2 := counts(t, c); e2 != events || c.SubscriptionRevision.Query().CountX(sys) != revisions {
			t.Fatal("a no-op edit wrote something")
		}
	})
}

// TestYearlyImpactIsCycleNormalised: a yearly per-subscription price of
// 100.06 is 8.3383… a month, which rounds half up to 8.34; at 120.00 it is
// exactly 10.00. Seats do not multiply a per-subscription price.
func TestYearlyImpactIsCycleNormalised(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		c := d.Client
		s := pricing.New(c, nil)
		p, err := s.Create(operator, pricing.CreateInput{Plan: tenant.PlanEnterprise, Interval: price.IntervalYear, PerSeat: false,
			Amounts: []schematype.Money{eur(10006)}})
		if err != nil {
			t.Fatal(err)
		}
		tn := c.Tenant.Create().SetSlug("foxtrot").SetName("Foxtrot").SetPlan(tenant.PlanEnterprise).SetSeats(7).SaveX(sys)
		if _, err := subscriptions.Create(sys, c, tn.ID, subscriptions.State{PriceID: &p.ID, Plan: tenantsubscription.PlanEnterprise,
			Interval: tenantsubscription.IntervalYear, Currency: "EUR", UnitAmount: 10006, Seats: 7,
			Status: tenantsubscription.StatusActive}, time.Now(), nil); err != nil {
			t.Fatal(err)
		}
		imp, err := s.Impact(operator, p.ID, pricing.UpdateInput{Amounts: []schematype.Money{eur(12000)}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(imp.MRRBefore, []schematype.Money{eur(834)}) || !slices.Equal(imp.MRRAfter, []schematype.Money{eur(1000)}) {
			t.Fatalf("yearly impact %v → %v, want EUR 834 → 1000", imp.MRRBefore, imp.MRRAfter)
		}
	})
}
