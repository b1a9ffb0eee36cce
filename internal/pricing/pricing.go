// Package pricing is the pricing catalog: what each plan costs per billing
// interval, in one integer amount (minor units) per currency, managed by
// operators and read by everyone signed in.
//
// Provider prices are immutable, so an edit of an amount never changes a
// provider price: it forgets the catalog row's provider price for each
// changed currency, refreshes the snapshot of every live subscription
// sold at that row and currency (internal/subscriptions, one revision
// each) and queues each such tenant's billing job, all in the edit's
// transaction. The job (internal/provisioning) mints the new provider
// price once and moves the provider subscription to it without proration,
// so the new amount applies from the next cycle. A subscription whose move
// fails keeps its error on the row (sync_error) and its job retries with
// backoff; the other subscriptions and the edit are not affected.
//
// Impact shows before an edit which subscriptions it reprices and the
// MRR before and after, per currency.
package pricing

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/price"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/money"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/viewer"
)

// MaxAmount bounds one amount (minor units): 100 million units of a
// two-digit currency per interval, far above any price, far below
// overflow in any MRR sum.
const MaxAmount = 10_000_000_000

// Service manages the catalog.
type Service struct {
	client *ent.Client
	prov   *provisioning.Service
}

// New returns the catalog service; prov queues the billing jobs of
// repriced subscriptions (nil: none are queued, for tests of the catalog
// alone).
func New(client *ent.Client, prov *provisioning.Service) *Service {
	return &Service{client: client, prov: prov}
}

// DefaultPrices are the rows EnsureDefaults creates in an empty catalog:
// a monthly per-seat price in EUR for each plan priced in
// provisioning.DefaultCatalog.
func DefaultPrices() []CreateInput {
	var out []CreateInput
	for _, plan := range []tenant.Plan{tenant.PlanStarter, tenant.PlanBusiness, tenant.PlanEnterprise} {
		spec := provisioning.DefaultCatalog[plan]
		if !spec.Priced() {
			continue
		}
		out = append(out, CreateInput{Plan: plan, Interval: price.IntervalMonth, PerSeat: true,
			Amounts: []schematype.Money{{Amount: spec.UnitAmount, Currency: strings.ToUpper(spec.Currency)}}})
	}
	return out
}

// EnsureDefaults fills an empty catalog with DefaultPrices, past the viewer;
// a catalog with any row (archived included) is left alone. It returns how
// many rows it created.
func EnsureDefaults(ctx context.Context, client *ent.Client) (int, error) {
	ctx = rule.Bypass(ctx)
	n := 0
	err := db.WithTx(ctx, client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		if exists, err := c.Price.Query().Exist(ctx); err != nil || exists {
			return err
		}
		for _, in := range DefaultPrices() {
			if err := c.Price.Create().SetPlan(price.Plan(in.Plan)).SetInterval(in.Interval).SetPerSeat(in.PerSeat).
				SetAmounts(in.Amounts).Exec(ctx); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pricing: default catalog: %w", err)
	}
	return n, nil
}

// CreateInput is a new catalog row.
type CreateInput struct {
	Plan     tenant.Plan
	Interval price.Interval
	PerSeat  bool
	Amounts  []schematype.Money
}

// UpdateInput changes a row's amounts: the list replaces the row's; a
// currency left out stops being sold at this row (subscriptions in it
// keep their amount until they move to another price).
type UpdateInput struct {
	Amounts []schematype.Money
}

// List returns the catalog, active rows only unless includeArchived,
// optionally for one plan, ordered by plan, interval and id.
func (s *Service) List(ctx context.Context, plan *tenant.Plan, includeArchived bool) ([]*ent.Price, error) {
	if viewer.FromContext(ctx) == nil {
		return nil, apperr.New(apperr.Unauthenticated, "sign in")
	}
	q := s.client.Price.Query()
	if plan != nil {
		q.Where(price.PlanEQ(price.Plan(*plan)))
	}
	if !includeArchived {
		q.Where(price.Active(true))
	}
	out, err := q.Order(ent.Asc(price.FieldPlan), ent.Asc(price.FieldInterval), ent.Asc(price.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("pricing: list: %w", err)
	}
	return out, nil
}

// Get returns one row.
func (s *Service) Get(ctx context.Context, id int) (*ent.Price, error) {
	p, err := s.client.Price.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.NotFoundf("price %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("pricing: price %d: %w", id, err)
	}
	return p, nil
}

// checkAmounts validates and normalises amounts: at least one, each
// currency an ISO 4217 code (upper-cased) at most once, each amount
// 1..MaxAmount minor units. The result is sorted by currency.
func checkAmounts(in []schematype.Money) ([]schematype.Money, error) {
	if len(in) == 0 {
		return nil, apperr.Invalid("amounts", "give at least one amount")
	}
	seen := map[string]bool{}
	out := make([]schematype.Money, 0, len(in))
	for i, m := range in {
		field := "amounts[" + strconv.Itoa(i) + "]"
		cur, err := money.Currency(m.Currency)
		if err != nil {
			return nil, apperr.Invalid(field+".currency", "%v", err)
		}
		if seen[cur] {
			return nil, apperr.Invalid(field+".currency", "%s is given twice", cur)
		}
		seen[cur] = true
		if m.Amount < 1 || m.Amount > MaxAmount {
			return nil, apperr.Invalid(field+".amount", "must be 1 to %d minor units of %s (a free plan has no price)", int64(MaxAmount), cur)
		}
		out = append(out, schematype.Money{Amount: m.Amount, Currency: cur})
	}
	slices.SortFunc(out, func(a, b schematype.Money) int { return strings.Compare(a.Currency, b.Currency) })
	return out, nil
}

// Create adds a row (operators). A plan has at most one active row per
// interval: selling it at two prices at once would make new subscriptions
// ambiguous, so the old row is archived first.
func (s *Service) Create(ctx context.Context, in CreateInput) (*ent.Price, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	if err := tenant.PlanValidator(in.Plan); err != nil {
		return nil, apperr.Invalid("plan", "unknown plan %q", in.Plan)
	}
	if in.Plan == tenant.PlanFree {
		return nil, apperr.Invalid("plan", "the free plan is not billed")
	}
	if err := price.IntervalValidator(in.Interval); err != nil {
		return nil, apperr.Invalid("interval", "unknown interval %q", in.Interval)
	}
	amounts, err := checkAmounts(in.Amounts)
	if err != nil {
		return nil, err
	}
	var out *ent.Price
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		taken, err := c.Price.Query().Where(price.PlanEQ(price.Plan(in.Plan)), price.IntervalEQ(in.Interval), price.Active(true)).Exist(ctx)
		if err != nil {
			return err
		}
		if taken {
			return apperr.Conflictf("plan %s already has an active %s price: edit it, or archive it first", in.Plan, in.Interval)
		}
		if out, err = c.Price.Create().SetPlan(price.Plan(in.Plan)).SetInterval(in.Interval).SetPerSeat(in.PerSeat).
			SetAmounts(amounts).Save(ctx); err != nil {
			return err
		}
		return record(ctx, "price.created", out, map[string]any{"after": fields(out)})
	})
	if err != nil {
		return nil, apperr.About(err, "price")
	}
	return out, nil
}

// Archive stops selling a row (operators): new subscriptions no longer
// take it; existing ones keep it. Archiving an archived row changes
// nothing.
func (s *Service) Archive(ctx context.Context, id int) (*ent.Price, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	var out *ent.Price
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		p, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		if !p.Active {
			out = p
			return nil
		}
		if out, err = ent.FromContext(ctx).Price.UpdateOne(p).SetActive(false).Save(ctx); err != nil {
			return err
		}
		return record(ctx, "price.archived", out, map[string]any{"before": fields(p), "after": fields(out)})
	})
	if err != nil {
		return nil, apperr.About(err, "price")
	}
	return out, nil
}

// Affected is one live subscription an edit reprices.
type Affected struct {
	Subscription *ent.TenantSubscription
	Tenant       *ent.Tenant
	// Before and After are the amount per interval (per seat when per
	// seat) in the subscription's currency.
	Before, After int64
	// MRRBefore and MRRAfter are its monthly recurring revenue.
	MRRBefore, MRRAfter int64
}

// Impact is what an edit would do.
type Impact struct {
	Price *ent.Price
	// Amounts is the row's amounts after the edit.
	Amounts []schematype.Money
	// Subscriptions are the live subscriptions repriced, by tenant slug.
	Subscriptions []Affected
	// MRRBefore and MRRAfter total the affected subscriptions' MRR per
	// currency (sorted by currency; subscriptions that stay are not in
	// them).
	MRRBefore, MRRAfter []schematype.Money
}

// Impact computes, without changing anything, what Update(id, in) would
// reprice (operators).
func (s *Service) Impact(ctx context.Context, id int, in UpdateInput) (*Impact, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	p, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.impact(ctx, s.client, p, in)
}

func (s *Service) impact(ctx context.Context, c *ent.Client, p *ent.Price, in UpdateInput) (*Impact, error) {
	amounts, err := checkAmounts(in.Amounts)
	if err != nil {
		return nil, err
	}
	next := &ent.Price{Amounts: amounts}
	subs, err := c.TenantSubscription.Query().
		Where(tenantsubscription.PriceID(p.ID), tenantsubscription.StatusNEQ(tenantsubscription.StatusCanceled)).
		WithTenant().Order(ent.Asc(tenantsubscription.FieldID)).All(rule.Bypass(ctx))
	if err != nil {
		return nil, fmt.Errorf("pricing: subscriptions of price %d: %w", p.ID, err)
	}
	out := &Impact{Price: p, Amounts: amounts}
	before, after := map[string]int64{}, map[string]int64{}
	for _, sub := range subs {
		a, ok := subscriptions.AmountIn(next, sub.Currency)
		if !ok || a == sub.UnitAmount {
			continue // currency no longer sold here, or unchanged: not repriced
		}
		st := subscriptions.StateOf(sub)
		mb := subscriptions.MRR(st)
		st.UnitAmount = a
		ma := subscriptions.MRR(st)
		out.Subscriptions = append(out.Subscriptions, Affected{Subscription: sub, Tenant: sub.Edges.Tenant,
			Before: sub.UnitAmount, After: a, MRRBefore: mb, MRRAfter: ma})
		before[sub.Currency] += mb
		after[sub.Currency] += ma
	}
	slices.SortFunc(out.Subscriptions, func(a, b Affected) int { return strings.Compare(a.Tenant.Slug, b.Tenant.Slug) })
	out.MRRBefore, out.MRRAfter = totals(before), totals(after)
	return out, nil
}

func totals(m map[string]int64) []schematype.Money {
	out := make([]schematype.Money, 0, len(m))
	for cur, a := range m {
		out = append(out, schematype.Money{Amount: a, Currency: cur})
	}
	slices.SortFunc(out, func(a, b schematype.Money) int { return strings.Compare(a.Currency, b.Currency) })
	return out
}

// Update replaces a row's amounts (operators) and reprices its live
// subscriptions in the changed currencies (see the package doc), in one
// transaction. An edit that changes nothing writes nothing.
func (s *Service) Update(ctx context.Context, id int, in UpdateInput) (*ent.Price, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	var out *ent.Price
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		p, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		imp, err := s.impact(ctx, c, p, in)
		if err != nil {
			return err
		}
		if slices.Equal(imp.Amounts, p.Amounts) {
			out = p
			return nil
		}
		// Provider prices of changed or dropped currencies are forgotten:
		// the next billing run of a subscription in that currency mints
		// one at the new amount.
		keep := []schematype.ProviderPrice{}
		for _, pp := range p.ProviderPrices {
			if a, ok := subscriptions.AmountIn(&ent.Price{Amounts: imp.Amounts}, pp.Currency); ok && a == pp.Amount {
				keep = append(keep, pp)
			}
		}
		if out, err = c.Price.UpdateOne(p).SetAmounts(imp.Amounts).SetProviderPrices(keep).Save(ctx); err != nil {
			return err
		}
		now := time.Now()
		for _, a := range imp.Subscriptions {
			if _, err := subscriptions.Update(ctx, s.client, a.Subscription, now, "price "+strconv.Itoa(p.ID)+" edited", func(u *ent.TenantSubscriptionUpdateOne) {
				u.SetUnitAmount(a.After)
			}); err != nil {
				return err
			}
			if s.prov != nil {
				if err := s.prov.EnqueueBilling(ctx, a.Tenant, "price edited"); err != nil {
					return err
				}
			}
		}
		return record(ctx, "price.updated", out, map[string]any{"before": fields(p), "after": fields(out),
			"repriced": len(imp.Subscriptions), "mrrBefore": moneyList(imp.MRRBefore), "mrrAfter": moneyList(imp.MRRAfter)})
	})
	if err != nil {
		return nil, apperr.About(err, "price")
	}
	return out, nil
}

func fields(p *ent.Price) map[string]any {
	return map[string]any{"plan": string(p.Plan), "interval": string(p.Interval), "perSeat": p.PerSeat,
		"amounts": moneyList(p.Amounts), "active": p.Active}
}

// moneyList is ms as plain audit metadata values.
func moneyList(ms []schematype.Money) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = map[string]any{"amount": m.Amount, "currency": m.Currency}
	}
	return out
}

func record(ctx context.Context, action string, p *ent.Price, meta map[string]any) error {
	return audit.Record(ctx, audit.Event{Action: action, ResourceType: "price", ResourceID: strconv.Itoa(p.ID),
		ResourceName: string(p.Plan) + " " + string(p.Interval), Metadata: meta})
}
