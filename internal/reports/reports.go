// Package reports computes the platform's and a partner's money and
// growth reports, reproducible from the rows alone:
//
//   - a month's MRR is that of the subscription revisions in effect at
//     the month's close (before now for the current month), per currency;
//     a partner's, of the revisions whose partner (at the time) it is;
//   - revenue over a range is the sum of its months' MRR, by plan (in
//     catalog order, then currency) and by tenant (top tenants: the ten
//     largest per currency);
//   - signups in a month are the tenants created in it (a partner's: its
//     tenants now); churn in a month counts the subscriptions live (MRR >
//     0) at the previous month's close and not at this month's;
//   - a partner's health cohorts count its tenants by provisioning state
//     now: FAILING (an integration in error), PROVISIONING (one pending),
//     HEALTHY (all done), UNPROVISIONED (no integration run yet).
//
// Operators read every report; partner staff their own partner's (another
// partner is NOT_FOUND to them, as everywhere). Saved reports belong to the
// user who saved them.
package reports

import (
	"context"
	"fmt"
	"sort"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/partner"
	"github.com/dezky/platform/ent/predicate"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/subscriptionrevision"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/payouts"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/viewer"
)

// MaxMonths bounds a report's range.
const MaxMonths = 36

// TopN is how many tenants per currency the top list shows.
const TopN = 10

// Service computes reports.
type Service struct {
	client *ent.Client
	now    func() time.Time
}

// New returns a Service.
func New(client *ent.Client) *Service { return &Service{client: client, now: time.Now} }

// SetClock replaces the clock (for tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// MonthMoney is the MRR of one month, one amount per currency.
type MonthMoney struct {
	Month   string
	Amounts []schematype.Money
}

// PlanRevenue is a plan's revenue over the range in one currency.
type PlanRevenue struct {
	Plan   tenant.Plan
	Amount schematype.Money
}

// TenantRevenue is a tenant's revenue over the range in one currency.
type TenantRevenue struct {
	TenantID int
	Slug     string
	Name     string
	Amount   schematype.Money
}

// MonthCount is a month's signups and churn.
type MonthCount struct {
	Month   string
	Signups int
	Churned int
}

// HealthCohort counts tenants in one provisioning state.
type HealthCohort struct {
	State   string
	Tenants int
}

// Report is a platform or partner report.
type Report struct {
	From, To      string
	Partner       *ent.Partner
	MRRByMonth    []MonthMoney
	RevenueByPlan []PlanRevenue
	TopTenants    []TenantRevenue
	Cohorts       []MonthCount
	// Health is set for partner reports.
	Health []HealthCohort
}

// Range parses from and to ("YYYY-MM", inclusive): from not after to, to
// not after the current month, at most MaxMonths months.
func (s *Service) Range(from, to string) ([]time.Time, error) {
	f, err := payouts.ParsePeriod(from)
	if err != nil {
		return nil, apperr.Invalid("from", "%v", err)
	}
	t, err := payouts.ParsePeriod(to)
	if err != nil {
		return nil, apperr.Invalid("to", "%v", err)
	}
	if t.Before(f) {
		return nil, apperr.Invalid("to", "%s is before from (%s)", to, from)
	}
	if t.After(tenancy.MonthStart(s.now())) {
		return nil, apperr.Invalid("to", "%s has not started yet", to)
	}
	var months []time.Time
	for m := f; !m.After(t); m = m.AddDate(0, 1, 0) {
		months = append(months, m)
		if len(months) > MaxMonths {
			return nil, apperr.Invalid("from", "a report covers at most %d months", MaxMonths)
		}
	}
	return months, nil
}

// Platform computes the platform report (operators).
func (s *Service) Platform(ctx context.Context, from, to string) (*Report, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	months, err := s.Range(from, to)
	if err != nil {
		return nil, err
	}
	return s.compute(ctx, months, nil)
}

// Partner computes a partner's report (operators and the partner's
// staff).
func (s *Service) Partner(ctx context.Context, slug string, from, to string) (*Report, error) {
	p, err := s.partnerFor(ctx, slug)
	if err != nil {
		return nil, err
	}
	months, err := s.Range(from, to)
	if err != nil {
		return nil, err
	}
	return s.compute(ctx, months, p)
}

// partnerFor returns the partner whose report the viewer may read.
func (s *Service) partnerFor(ctx context.Context, slug string) (*ent.Partner, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "sign in to read reports")
	}
	p, err := s.client.Partner.Query().Where(partner.Slug(slug)).Only(ctx)
	if err != nil {
		return nil, apperr.About(err, "partner")
	}
	if !v.Privileged() && v.PartnerID != p.ID {
		return nil, apperr.Forbiddenf("a partner's report is for operators and the partner's staff")
	}
	return p, nil
}

// compute builds the report over months, for partner p or (nil) the
// platform. The caller was authorised: the rows are read past the
// viewer's reach (a partner's staff do not see every revision row of its
// tenants, which carry the partner at the time).
func (s *Service) compute(ctx context.Context, months []time.Time, p *ent.Partner) (*Report, error) {
	sys := rule.Bypass(ctx)
	now := s.now().UTC()
	ats := make([]time.Time, 0, len(months)+1)
	ats = append(ats, months[0]) // the close of the month before the range
	for _, m := range months {
		end := m.AddDate(0, 1, 0)
		if now.Before(end) {
			end = now
		}
		ats = append(ats, end)
	}
	var only []predicate.SubscriptionRevision
	if p != nil {
		// Only subscriptions that were ever the partner's: every revision
		// of those, so a later move to another partner still counts.
		// A plain IN over the ids (not ent's correlated EXISTS, which
		// SQLite runs once per revision).
		only = append(only, func(s *entsql.Selector) {
			t := entsql.Table(subscriptionrevision.Table)
			s.Where(entsql.In(s.C(subscriptionrevision.FieldSubscriptionID),
				entsql.Select(t.C(subscriptionrevision.FieldSubscriptionID)).From(t).
					Where(entsql.EQ(t.C(subscriptionrevision.FieldPartnerID), p.ID))))
		})
	}
	snaps, err := subscriptions.Snapshots(sys, s.client, ats, only...)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	inScope := func(r *ent.SubscriptionRevision) bool {
		return p == nil || (r.PartnerID != nil && *r.PartnerID == p.ID)
	}
	rep := &Report{From: payouts.Period(months[0]), To: payouts.Period(months[len(months)-1]), Partner: p}
	type planKey struct {
		plan     tenant.Plan
		currency string
	}
	byPlan := map[planKey]int64{}
	byTenant := map[tenantKey]int64{}
	for i, m := range months {
		prev, cur := snaps[i], snaps[i+1]
		mrr := map[string]int64{}
		churned := 0
		for _, r := range cur {
			if !inScope(r) || r.Mrr <= 0 {
				continue
			}
			mrr[r.Currency] += r.Mrr
			byPlan[planKey{tenant.Plan(r.Plan), r.Currency}] += r.Mrr
			byTenant[tenantKey{r.TenantID, r.Currency}] += r.Mrr
		}
		for id, r := range prev {
			if !inScope(r) || r.Mrr <= 0 {
				continue
			}
			if now := cur[id]; now == nil || now.Mrr <= 0 {
				churned++
			}
		}
		mm := MonthMoney{Month: payouts.Period(m), Amounts: []schematype.Money{}}
		for c, a := range mrr {
			mm.Amounts = append(mm.Amounts, schematype.Money{Amount: a, Currency: c})
		}
		sort.Slice(mm.Amounts, func(i, j int) bool { return mm.Amounts[i].Currency < mm.Amounts[j].Currency })
		rep.MRRByMonth = append(rep.MRRByMonth, mm)
		rep.Cohorts = append(rep.Cohorts, MonthCount{Month: mm.Month, Churned: churned})
	}
	for k, a := range byPlan {
		rep.RevenueByPlan = append(rep.RevenueByPlan, PlanRevenue{Plan: k.plan, Amount: schematype.Money{Amount: a, Currency: k.currency}})
	}
	sort.Slice(rep.RevenueByPlan, func(i, j int) bool {
		a, b := rep.RevenueByPlan[i], rep.RevenueByPlan[j]
		if a.Plan != b.Plan {
			return planRank[a.Plan] < planRank[b.Plan]
		}
		return a.Amount.Currency < b.Amount.Currency
	})
	if err := s.topTenants(sys, rep, byTenant); err != nil {
		return nil, err
	}
	if err := s.signups(sys, rep, months, p); err != nil {
		return nil, err
	}
	if p != nil {
		if rep.Health, err = s.health(sys, p); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// planRank orders plans as the catalog does.
var planRank = map[tenant.Plan]int{tenant.PlanFree: 0, tenant.PlanStarter: 1, tenant.PlanBusiness: 2, tenant.PlanEnterprise: 3}

// tenantKey is a tenant's revenue in one currency.
type tenantKey struct {
	tenant   int
	currency string
}

// topTenants ranks the tenants by revenue, the TopN largest per currency.
func (s *Service) topTenants(ctx context.Context, rep *Report, byTenant map[tenantKey]int64) error {
	ids := make([]int, 0, len(byTenant))
	seen := map[int]bool{}
	for k := range byTenant {
		if !seen[k.tenant] {
			seen[k.tenant] = true
			ids = append(ids, k.tenant)
		}
	}
	ts, err := s.client.Tenant.Query().Where(tenant.IDIn(ids...)).All(ctx)
	if err != nil {
		return fmt.Errorf("reports: tenants: %w", err)
	}
	byID := map[int]*ent.Tenant{}
	for _, t := range ts {
		byID[t.ID] = t
	}
	all := make([]TenantRevenue, 0, len(byTenant))
	for k, a := range byTenant {
		tr := TenantRevenue{TenantID: k.tenant, Amount: schematype.Money{Amount: a, Currency: k.currency}}
		if t := byID[k.tenant]; t != nil {
			tr.Slug, tr.Name = t.Slug, t.Name
		}
		all = append(all, tr)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Amount.Currency != b.Amount.Currency {
			return a.Amount.Currency < b.Amount.Currency
		}
		if a.Amount.Amount != b.Amount.Amount {
			return a.Amount.Amount > b.Amount.Amount
		}
		return a.Slug < b.Slug
	})
	n := map[string]int{}
	for _, tr := range all {
		if n[tr.Amount.Currency] < TopN {
			rep.TopTenants = append(rep.TopTenants, tr)
			n[tr.Amount.Currency]++
		}
	}
	return nil
}

// signups counts the tenants created in each month (a partner's: its
// tenants now).
func (s *Service) signups(ctx context.Context, rep *Report, months []time.Time, p *ent.Partner) error {
	q := s.client.Tenant.Query().Where(tenant.CreatedAtGTE(months[0]), tenant.CreatedAtLT(months[len(months)-1].AddDate(0, 1, 0)))
	if p != nil {
		q.Where(tenant.PartnerID(p.ID))
	}
	created, err := q.Select(tenant.FieldCreatedAt).All(ctx)
	if err != nil {
		return fmt.Errorf("reports: signups: %w", err)
	}
	idx := map[string]int{}
	for i, c := range rep.Cohorts {
		idx[c.Month] = i
	}
	for _, t := range created {
		if i, ok := idx[payouts.Period(t.CreatedAt)]; ok {
			rep.Cohorts[i].Signups++
		}
	}
	return nil
}

// Health states of a tenant.
const (
	HealthFailing       = "FAILING"
	HealthProvisioning  = "PROVISIONING"
	HealthHealthy       = "HEALTHY"
	HealthUnprovisioned = "UNPROVISIONED"
)

// health counts p's tenants (not deleted) by provisioning state.
func (s *Service) health(ctx context.Context, p *ent.Partner) ([]HealthCohort, error) {
	ts, err := s.client.Tenant.Query().Where(tenant.PartnerID(p.ID), tenant.StatusNEQ(tenant.StatusDeleted)).IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("reports: tenants of %s: %w", p.Slug, err)
	}
	states, err := s.client.ProvisioningState.Query().Where(provisioningstate.TenantIDIn(ts...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reports: provisioning of %s: %w", p.Slug, err)
	}
	worst := map[int]string{}
	rank := map[string]int{HealthHealthy: 1, HealthProvisioning: 2, HealthFailing: 3}
	for _, st := range states {
		h := HealthHealthy
		switch st.Status {
		case provisioningstate.StatusError:
			h = HealthFailing
		case provisioningstate.StatusPending:
			h = HealthProvisioning
		}
		if rank[h] > rank[worst[st.TenantID]] {
			worst[st.TenantID] = h
		}
	}
	count := map[string]int{}
	for _, id := range ts {
		h := worst[id]
		if h == "" {
			h = HealthUnprovisioned
		}
		count[h]++
	}
	out := []HealthCohort{}
	for _, h := range []string{HealthHealthy, HealthProvisioning, HealthFailing, HealthUnprovisioned} {
		out = append(out, HealthCohort{State: h, Tenants: count[h]})
	}
	return out, nil
}
