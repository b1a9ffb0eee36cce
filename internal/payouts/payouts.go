// Package payouts computes what the platform owes its partners: per
// partner, currency and month, the partner's margin (versioned, see
// tenancy.Margins) of the monthly recurring revenue of its tenants at the
// month's close, reproducible from the subscription revisions alone.
//
// Rules:
//   - Gross MRR of partner P in month M and currency C is the sum, over
//     subscriptions, of the MRR of the last revision effective before the
//     end of M (the current month: before now) whose partner is P and
//     currency C. A revision's MRR is 0 unless ACTIVE or PAST_DUE.
//   - The amount is the margin in effect for M applied to the gross,
//     rounded half up to the minor unit (money.Share).
//   - Generate is idempotent: a second run with the same rows changes
//     nothing. A PENDING row is brought to the figures; a PAID row is never
//     rewritten: a difference becomes an ADJUSTMENT row for M in the next
//     period (month after M) that has no paid row of its own, holding the
//     difference to everything already paid for M.
//   - Months after the current one cannot be generated.
package payouts

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/partner"
	"github.com/dezky/platform/ent/payout"
	"github.com/dezky/platform/ent/predicate"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/money"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/viewer"
)

// Service computes and records payouts.
type Service struct {
	client  *ent.Client
	tenancy *tenancy.Service
	log     *slog.Logger
	// now is the clock (tests set it).
	now func() time.Time
}

// New returns a Service.
func New(client *ent.Client, ts *tenancy.Service, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{client: client, tenancy: ts, log: log, now: time.Now}
}

// SetClock replaces the clock (for tests and reproducing past runs).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

var periodPattern = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// ParsePeriod parses "YYYY-MM" into the first instant of that month, UTC.
func ParsePeriod(p string) (time.Time, error) {
	if !periodPattern.MatchString(p) {
		return time.Time{}, fmt.Errorf("%q is not a month in the form YYYY-MM", p)
	}
	t, err := time.Parse("2006-01", p)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a month in the form YYYY-MM", p)
	}
	if t.Year() < 2000 {
		return time.Time{}, fmt.Errorf("%q is before 2000", p)
	}
	return t.UTC(), nil
}

// Period formats a month as "YYYY-MM".
func Period(t time.Time) string { return t.UTC().Format("2006-01") }

// Figures are one partner's revenue and share in one month and currency.
type Figures struct {
	PartnerID int
	Currency  string
	GrossMRR  int64
	MarginPct int
	Amount    int64
	Tenants   int
}

// Compute returns the figures of every partner with revenue in the month
// starting at month, ordered by partner and currency, as an operator (or
// the system) sees them.
func (s *Service) Compute(ctx context.Context, month time.Time) ([]Figures, error) {
	end := month.AddDate(0, 1, 0)
	if now := s.now().UTC(); now.Before(end) {
		end = now
	}
	c := db.Client(ctx, s.client)
	snaps, err := subscriptions.Snapshots(ctx, c, []time.Time{end})
	if err != nil {
		return nil, fmt.Errorf("payouts: %w", err)
	}
	last := snaps[0]
	type key struct {
		partner  int
		currency string
	}
	acc := map[key]*Figures{}
	for _, r := range last {
		if r.PartnerID == nil || r.Mrr <= 0 {
			continue
		}
		k := key{*r.PartnerID, r.Currency}
		f := acc[k]
		if f == nil {
			f = &Figures{PartnerID: k.partner, Currency: k.currency}
			acc[k] = f
		}
		f.GrossMRR += r.Mrr
		f.Tenants++
	}
	out := make([]Figures, 0, len(acc))
	margins := map[int]int{}
	for k, f := range acc {
		pct, ok := margins[k.partner]
		if !ok {
			p, err := c.Partner.Get(ctx, k.partner)
			if err != nil {
				return nil, fmt.Errorf("payouts: partner %d: %w", k.partner, err)
			}
			ms, err := s.tenancy.Margins(ctx, p)
			if err != nil {
				return nil, err
			}
			pct = tenancy.MarginIn(ms, month)
			margins[k.partner] = pct
		}
		f.MarginPct = pct
		f.Amount = money.Share(f.GrossMRR, pct*100)
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PartnerID != out[j].PartnerID {
			return out[i].PartnerID < out[j].PartnerID
		}
		return out[i].Currency < out[j].Currency
	})
	return out, nil
}

// Run is the outcome of Generate.
type Run struct {
	Period      string
	Created     int
	Updated     int
	Adjustments int
	// Payouts are the rows paying for the period (regular and adjustments).
	Payouts []*ent.Payout
}

// Generate records the payouts of period (operators), audited. See the
// package documentation for the rules.
func (s *Service) Generate(ctx context.Context, period string) (*Run, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	return s.generate(ctx, period)
}

func (s *Service) generate(ctx context.Context, period string) (*Run, error) {
	month, err := ParsePeriod(period)
	if err != nil {
		return nil, apperr.Invalid("period", "%v", err)
	}
	if month.After(tenancy.MonthStart(s.now())) {
		return nil, apperr.Invalid("period", "%s has not started yet", period)
	}
	run := &Run{Period: period}
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		figs, err := s.Compute(ctx, month)
		if err != nil {
			return err
		}
		// The caller is an operator or the system: every row is in reach.
		c := ent.FromContext(ctx)
		existing, err := c.Payout.Query().Where(payout.ForPeriod(period)).All(ctx)
		if err != nil {
			return fmt.Errorf("payouts of %s: %w", period, err)
		}
		type key struct {
			partner  int
			currency string
		}
		rows := map[key][]*ent.Payout{}
		for _, p := range existing {
			k := key{p.PartnerID, p.Currency}
			rows[k] = append(rows[k], p)
		}
		want := map[key]Figures{}
		for _, f := range figs {
			want[key{f.PartnerID, f.Currency}] = f
		}
		for k := range rows {
			if _, ok := want[k]; !ok {
				want[k] = Figures{PartnerID: k.partner, Currency: k.currency} // revenue gone: owes 0
			}
		}
		keys := make([]key, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].partner != keys[j].partner {
				return keys[i].partner < keys[j].partner
			}
			return keys[i].currency < keys[j].currency
		})
		for _, k := range keys {
			if err := s.apply(ctx, c, run, month, want[k], rows[k]); err != nil {
				return err
			}
		}
		if run.Created+run.Updated+run.Adjustments > 0 {
			if err := audit.Record(ctx, audit.Event{
				Action: "payouts.generated", ResourceType: "payouts", ResourceID: period, ResourceName: period,
				Metadata: map[string]any{"created": run.Created, "updated": run.Updated, "adjustments": run.Adjustments},
			}); err != nil {
				return err
			}
		}
		run.Payouts, err = c.Payout.Query().Where(payout.ForPeriod(period)).
			Order(ent.Asc(payout.FieldPartnerID), ent.Asc(payout.FieldCurrency), ent.Asc(payout.FieldPeriod)).All(ctx)
		return err
	})
	if err != nil {
		return nil, apperr.About(err, "payouts")
	}
	return run, nil
}

// apply brings one partner's and currency's rows for month to f.
func (s *Service) apply(ctx context.Context, c *ent.Client, run *Run, month time.Time, f Figures, rows []*ent.Payout) error {
	period := Period(month)
	var regular, pendingAdj *ent.Payout
	var paid int64
	for _, r := range rows {
		if r.Kind == payout.KindRegular {
			regular = r
		} else if r.Status == payout.StatusPending {
			pendingAdj = r
		}
		if r.Status == payout.StatusPaid {
			paid += r.Amount
		}
	}
	same := func(r *ent.Payout, amount int64) bool {
		return r.GrossMrr == f.GrossMRR && r.MarginPct == f.MarginPct && r.Amount == amount && r.Tenants == f.Tenants
	}
	switch {
	case regular == nil:
		if f.GrossMRR == 0 {
			return nil
		}
		if err := c.Payout.Create().SetPartnerID(f.PartnerID).SetPeriod(period).SetForPeriod(period).SetKind(payout.KindRegular).
			SetCurrency(f.Currency).SetGrossMrr(f.GrossMRR).SetMarginPct(f.MarginPct).SetAmount(f.Amount).SetTenants(f.Tenants).
			Exec(ctx); err != nil {
			return fmt.Errorf("payout of partner %d for %s: %w", f.PartnerID, period, err)
		}
		run.Created++
		return nil
	case regular.Status == payout.StatusPending:
		if same(regular, f.Amount) {
			return nil
		}
		if err := c.Payout.UpdateOne(regular).SetGrossMrr(f.GrossMRR).SetMarginPct(f.MarginPct).SetAmount(f.Amount).
			SetTenants(f.Tenants).Exec(ctx); err != nil {
			return fmt.Errorf("payout %d: %w", regular.ID, err)
		}
		run.Updated++
		return nil
	}
	// The month was paid: correct by an adjustment.
	delta := f.Amount - paid
	if pendingAdj != nil {
		if same(pendingAdj, delta) {
			return nil
		}
		if delta == 0 {
			if err := c.Payout.DeleteOne(pendingAdj).Exec(ctx); err != nil {
				return fmt.Errorf("payout %d: %w", pendingAdj.ID, err)
			}
		} else if err := c.Payout.UpdateOne(pendingAdj).SetGrossMrr(f.GrossMRR).SetMarginPct(f.MarginPct).SetAmount(delta).
			SetTenants(f.Tenants).Exec(ctx); err != nil {
			return fmt.Errorf("payout %d: %w", pendingAdj.ID, err)
		}
		run.Adjustments++
		return nil
	}
	if delta == 0 {
		return nil
	}
	next, err := s.nextOpenPeriod(ctx, c, f.PartnerID, f.Currency, month)
	if err != nil {
		return err
	}
	if err := c.Payout.Create().SetPartnerID(f.PartnerID).SetPeriod(next).SetForPeriod(period).SetKind(payout.KindAdjustment).
		SetCurrency(f.Currency).SetGrossMrr(f.GrossMRR).SetMarginPct(f.MarginPct).SetAmount(delta).SetTenants(f.Tenants).
		Exec(ctx); err != nil {
		return fmt.Errorf("adjustment of partner %d for %s: %w", f.PartnerID, period, err)
	}
	run.Adjustments++
	return nil
}

// nextOpenPeriod is the first month after month in which the partner has
// no paid payout in currency.
func (s *Service) nextOpenPeriod(ctx context.Context, c *ent.Client, partnerID int, currency string, month time.Time) (string, error) {
	paid, err := c.Payout.Query().Where(payout.PartnerID(partnerID), payout.Currency(currency), payout.StatusEQ(payout.StatusPaid),
		payout.PeriodGT(Period(month))).Select(payout.FieldPeriod).Strings(ctx)
	if err != nil {
		return "", fmt.Errorf("paid periods of partner %d: %w", partnerID, err)
	}
	closed := map[string]bool{}
	for _, p := range paid {
		closed[p] = true
	}
	for m := month.AddDate(0, 1, 0); ; m = m.AddDate(0, 1, 0) {
		if !closed[Period(m)] {
			return Period(m), nil
		}
	}
}

// Filter selects payouts.
type Filter struct {
	PartnerSlug *string
	Period      *string
	Status      *payout.Status
}

// List returns the payouts the viewer may see (operators: all; partner
// staff: their partner's), newest period first.
func (s *Service) List(ctx context.Context, f Filter) ([]*ent.Payout, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "sign in to see payouts")
	}
	if !v.Privileged() && v.PartnerID == 0 {
		return nil, apperr.Forbiddenf("payouts are for operators and partner staff")
	}
	var ps []predicate.Payout
	if f.PartnerSlug != nil {
		ps = append(ps, payout.HasPartnerWith(partner.Slug(*f.PartnerSlug)))
	}
	if f.Period != nil {
		if _, err := ParsePeriod(*f.Period); err != nil {
			return nil, apperr.Invalid("where.period", "%v", err)
		}
		ps = append(ps, payout.Period(*f.Period))
	}
	if f.Status != nil {
		if err := payout.StatusValidator(*f.Status); err != nil {
			return nil, apperr.Invalid("where.status", "unknown status")
		}
		ps = append(ps, payout.StatusEQ(*f.Status))
	}
	out, err := s.client.Payout.Query().Where(ps...).
		Order(ent.Desc(payout.FieldPeriod), ent.Asc(payout.FieldPartnerID), ent.Asc(payout.FieldCurrency), ent.Asc(payout.FieldForPeriod)).
		Limit(1000).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("payouts: list: %w", err)
	}
	return out, nil
}

// MarkPaid records that payout id was paid with reference (operators),
// audited. A paid payout is CONFLICT.
func (s *Service) MarkPaid(ctx context.Context, id int, reference string) (*ent.Payout, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	ref := strings.TrimSpace(reference)
	if ref == "" || len(ref) > 200 || inputcheck.Line(ref) != nil {
		return nil, apperr.Invalid("reference", "give the payment reference, 1-200 bytes on one line")
	}
	var out *ent.Payout
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		p, err := c.Payout.Get(ctx, id)
		if err != nil {
			return apperr.About(err, "payout")
		}
		if p.Status == payout.StatusPaid {
			return apperr.Conflictf("payout %d was already paid (reference %q)", id, p.Reference)
		}
		if p.Period > Period(s.now()) {
			return apperr.Conflictf("payout %d is payable in %s, which has not started", id, p.Period)
		}
		if out, err = c.Payout.UpdateOne(p).SetStatus(payout.StatusPaid).SetReference(ref).SetPaidAt(s.now().UTC()).Save(ctx); err != nil {
			return apperr.About(err, "payout")
		}
		pt, err := c.Partner.Get(ctx, p.PartnerID)
		if err != nil {
			return apperr.About(err, "partner")
		}
		return audit.Record(ctx, audit.Event{
			Action: "payout.paid", ResourceType: "payout", ResourceID: fmt.Sprint(p.ID), ResourceName: pt.Slug + " " + p.ForPeriod,
			Partner: pt, Metadata: map[string]any{"amount": p.Amount, "currency": p.Currency, "period": p.Period,
				"forPeriod": p.ForPeriod, "kind": string(p.Kind), "reference": ref},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "payout")
	}
	return out, nil
}

// generateArgs is the daily job generating the current month's payouts
// (and the previous month's, which closes in the first days of a month).
type generateArgs struct{}

// Kind names the job kind.
func (generateArgs) Kind() string { return "generate_payouts" }

type generateWorker struct {
	river.WorkerDefaults[generateArgs]
	s *Service
}

// Work generates the previous and the current month.
func (w *generateWorker) Work(ctx context.Context, _ *river.Job[generateArgs]) error {
	ctx = viewer.SystemContext(ctx)
	cur := tenancy.MonthStart(w.s.now())
	for _, m := range []time.Time{cur.AddDate(0, -1, 0), cur} {
		if _, err := w.s.generate(ctx, Period(m)); err != nil {
			return fmt.Errorf("generate payouts of %s: %w", Period(m), err)
		}
	}
	return nil
}

// RegisterJobs registers the daily payout generation with the engine
// (before it starts).
func (s *Service) RegisterJobs(e *jobs.Engine) {
	jobs.AddWorker(e, &generateWorker{s: s})
	e.AddPeriodic(24*time.Hour, generateArgs{}, true)
}

// Margins returns p's margin history (tenancy.Margins) to operators and
// p's own staff; FORBIDDEN for everybody else.
func (s *Service) Margins(ctx context.Context, p *ent.Partner) ([]tenancy.Margin, error) {
	v := viewer.FromContext(ctx)
	if !v.Privileged() && (v == nil || v.PartnerID != p.ID) {
		return nil, apperr.Forbiddenf("a partner's margins are for operators and the partner's staff")
	}
	return s.tenancy.Margins(ctx, p)
}
