package billing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/billingaccount"
	"github.com/dezky/platform/ent/invoice"
	"github.com/dezky/platform/ent/predicate"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/money"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// Invoice pages.
const (
	DefaultInvoicePage = 20
	MaxInvoicePage     = 100
	// refreshPages bounds one refresh: the newest refreshPages ×
	// MaxInvoicePage invoices are read; older ones are final already.
	refreshPages = 10
)

// InvoiceEdge is an invoice and its cursor.
type InvoiceEdge struct {
	Node   *ent.Invoice
	Cursor ent.Cursor
}

// InvoiceConnection is one page of a tenant's invoices, newest first.
type InvoiceConnection struct {
	Edges      []*InvoiceEdge
	PageInfo   ent.PageInfo
	TotalCount int
}

// Invoices returns a page of t's cached invoices, newest first (by issue
// time, then id). after is the cursor of the last invoice of the previous
// page.
func (s *Service) Invoices(ctx context.Context, t *ent.Tenant, first *int, after *ent.Cursor) (*InvoiceConnection, error) {
	if err := tenancy.RequireAdmin(ctx, t); err != nil {
		return nil, err
	}
	n := DefaultInvoicePage
	if first != nil {
		n = *first
	}
	if n < 0 || n > MaxInvoicePage {
		return nil, apperr.Invalid("first", "must be 0 to %d", MaxInvoicePage)
	}
	c := s.client(ctx)
	base := []predicate.Invoice{invoice.TenantID(t.ID)}
	total, err := c.Invoice.Query().Where(base...).Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: count invoices of %s: %w", t.Slug, err)
	}
	q := c.Invoice.Query().Where(base...)
	if after != nil {
		prev, err := c.Invoice.Query().Where(invoice.ID(after.ID), invoice.TenantID(t.ID)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil, apperr.Invalid("after", "the cursor is not one of this tenant's invoices")
		}
		if err != nil {
			return nil, fmt.Errorf("billing: invoice cursor: %w", err)
		}
		q.Where(invoice.Or(invoice.IssuedAtLT(prev.IssuedAt), invoice.And(invoice.IssuedAt(prev.IssuedAt), invoice.IDLT(prev.ID))))
	}
	rows, err := q.Order(ent.Desc(invoice.FieldIssuedAt), ent.Desc(invoice.FieldID)).Limit(n + 1).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: invoices of %s: %w", t.Slug, err)
	}
	out := &InvoiceConnection{TotalCount: total, Edges: []*InvoiceEdge{}}
	if len(rows) > n {
		rows, out.PageInfo.HasNextPage = rows[:n], true
	}
	out.PageInfo.HasPreviousPage = after != nil
	for _, r := range rows {
		out.Edges = append(out.Edges, &InvoiceEdge{Node: r, Cursor: ent.Cursor{ID: r.ID}})
	}
	if l := len(out.Edges); l > 0 {
		out.PageInfo.StartCursor, out.PageInfo.EndCursor = &out.Edges[0].Cursor, &out.Edges[l-1].Cursor
	}
	return out, nil
}

// RefreshInvoices reads the tenant's invoices from the provider now,
// stores them, records the refresh in the audit trail and returns how many
// invoices the provider listed.
func (s *Service) RefreshInvoices(ctx context.Context, slug string) (int, error) {
	var n int
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		t, err := s.cfg.Tenancy.AdministeredTenant(ctx, slug)
		if err != nil {
			return err
		}
		cust, err := s.requireCustomer(ctx, t)
		if err != nil {
			return err
		}
		b, err := s.provider()
		if err != nil {
			return err
		}
		if n, err = s.refresh(ctx, b, t, cust); err != nil {
			return err
		}
		return audit.Record(ctx, audit.Event{
			Action: "billing.invoices_refreshed", ResourceType: "invoices", ResourceID: t.Slug, ResourceName: t.Slug,
			Tenant: t, Metadata: map[string]any{"invoices": n},
		})
	})
	if err != nil {
		return 0, apperr.About(err, "invoices")
	}
	return n, nil
}

// refresh reads up to refreshPages pages of the customer's invoices and
// applies each to the cache in ctx's transaction, then stamps the
// account's invoices_synced_at.
func (s *Service) refresh(ctx context.Context, b sdk.Billing, t *ent.Tenant, customerID string) (int, error) {
	now := time.Now().UTC()
	cursor, n := "", 0
	for range refreshPages {
		page, err := b.ListInvoices(ctx, sdk.ListInvoicesRequest{CustomerID: customerID, Cursor: cursor, Limit: MaxInvoicePage})
		if err != nil {
			return 0, apperr.Upstream("billing", err)
		}
		for _, in := range page.Invoices {
			if _, err := s.applyInvoice(ctx, t.ID, in, now); err != nil {
				return 0, err
			}
			n++
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	err := s.client(ctx).BillingAccount.Create().SetTenantID(t.ID).SetInvoicesSyncedAt(now).SetProviderCustomerID(customerID).
		OnConflictColumns(billingaccount.FieldTenantID).
		Update(func(u *ent.BillingAccountUpsert) { u.SetInvoicesSyncedAt(now).SetProviderCustomerID(customerID) }).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("billing: stamp invoice refresh of %s: %w", t.Slug, err)
	}
	return n, nil
}

// statusRank orders invoice statuses: a status never moves to a lower
// rank, so events applied in any order end in the same status.
var statusRank = map[invoice.Status]int{
	invoice.StatusDraft: 0, invoice.StatusOpen: 1, invoice.StatusUncollectible: 2,
	invoice.StatusPaid: 3, invoice.StatusVoid: 3,
}

// invoiceStatus maps a provider status (draft, open, paid, uncollectible,
// void) to ours.
func invoiceStatus(s string) (invoice.Status, bool) {
	st := invoice.Status(strings.ToUpper(s))
	_, ok := statusRank[st]
	return st, ok
}

// applyInvoice upserts in as tenantID's invoice, as the provider stated it
// at `at`. An existing row changes only when the statement is not older
// than the one it holds and does not move the status back; a row of
// another tenant is left alone. It reports whether the row changed.
func (s *Service) applyInvoice(ctx context.Context, tenantID int, in sdk.Invoice, at time.Time) (bool, error) {
	st, ok := invoiceStatus(in.Status)
	if !ok || in.ID == "" {
		return false, fmt.Errorf("billing: invoice %q has status %q", in.ID, in.Status)
	}
	cur, err := money.Currency(in.Currency)
	if err != nil {
		return false, fmt.Errorf("billing: invoice %s: %w", in.ID, err)
	}
	issued := in.Created
	if issued.IsZero() {
		issued = at
	}
	c := s.client(ctx)
	// The provider id is unique across tenants: the lookup looks past the
	// viewer so that another tenant's row is found (and left alone), not
	// duplicated. The writes are the caller's.
	row, err := c.Invoice.Query().Where(invoice.ProviderInvoiceID(in.ID)).Only(rule.Bypass(ctx))
	if err != nil && !ent.IsNotFound(err) {
		return false, fmt.Errorf("billing: invoice %s: %w", in.ID, err)
	}
	if row == nil {
		cr := c.Invoice.Create().SetTenantID(tenantID).SetProviderInvoiceID(in.ID).SetNumber(in.Number).SetStatus(st).
			SetCurrency(cur).SetTotal(in.Total).SetAmountDue(max(in.AmountDue, 0)).SetAmountPaid(max(in.AmountPaid, 0)).
			SetIssuedAt(issued.UTC()).SetHostedURL(in.HostedURL).SetPdfURL(in.PDFURL).SetSourceAt(at.UTC())
		if !in.PeriodStart.IsZero() {
			cr.SetPeriodStart(in.PeriodStart.UTC())
		}
		if !in.PeriodEnd.IsZero() {
			cr.SetPeriodEnd(in.PeriodEnd.UTC())
		}
		if err := cr.Exec(ctx); err != nil {
			return false, fmt.Errorf("billing: store invoice %s: %w", in.ID, err)
		}
		return true, nil
	}
	if row.TenantID != tenantID {
		s.cfg.Log.WarnContext(ctx, "billing: invoice belongs to another tenant; ignored", "invoice", in.ID)
		return false, nil
	}
	older := row.SourceAt != nil && at.Before(*row.SourceAt)
	if statusRank[st] < statusRank[row.Status] || (statusRank[st] == statusRank[row.Status] && older) {
		return false, nil
	}
	u := c.Invoice.UpdateOne(row).SetStatus(st).SetCurrency(cur).SetTotal(in.Total).
		SetAmountDue(max(in.AmountDue, 0)).SetAmountPaid(max(in.AmountPaid, 0))
	if !older {
		u.SetSourceAt(at.UTC())
	}
	if in.Number != "" {
		u.SetNumber(in.Number)
	}
	if in.HostedURL != "" {
		u.SetHostedURL(in.HostedURL)
	}
	if in.PDFURL != "" {
		u.SetPdfURL(in.PDFURL)
	}
	if !in.PeriodStart.IsZero() {
		u.SetPeriodStart(in.PeriodStart.UTC())
	}
	if !in.PeriodEnd.IsZero() {
		u.SetPeriodEnd(in.PeriodEnd.UTC())
	}
	if err := u.Exec(ctx); err != nil {
		return false, fmt.Errorf("billing: update invoice %s: %w", in.ID, err)
	}
	return true, nil
}

// refreshInvoicesArgs is the job reading one tenant's invoices (TenantID
// set) or those of every tenant with a provider subscription (TenantID 0,
// the periodic job).
type refreshInvoicesArgs struct {
	TenantID int `json:"tenant_id,omitempty"`
}

// Kind names the job kind.
func (refreshInvoicesArgs) Kind() string { return "refresh_tenant_invoices" }

type refreshInvoicesWorker struct {
	river.WorkerDefaults[refreshInvoicesArgs]
	s *Service
}

// Work refreshes one tenant's invoices, or every billed tenant's.
func (w *refreshInvoicesWorker) Work(ctx context.Context, j *river.Job[refreshInvoicesArgs]) error {
	ctx = viewer.SystemContext(ctx)
	b, err := w.s.provider()
	if err != nil {
		return nil // nothing to read without a billing plugin
	}
	q := w.s.cfg.Client.TenantSubscription.Query().Where(tenantsubscription.ProviderCustomerIDNEQ(""),
		tenantsubscription.HasTenantWith(tenant.StatusNEQ(tenant.StatusDeleted)))
	if j.Args.TenantID != 0 {
		q.Where(tenantsubscription.TenantID(j.Args.TenantID))
	}
	subs, err := q.WithTenant().All(ctx)
	if err != nil {
		return fmt.Errorf("refresh invoices: subscriptions: %w", err)
	}
	var failed int
	for _, sub := range subs {
		err := db.WithTx(ctx, w.s.cfg.Client, func(ctx context.Context) error {
			_, err := w.s.refresh(ctx, b, sub.Edges.Tenant, sub.ProviderCustomerID)
			return err
		})
		if err != nil {
			failed++
			w.s.cfg.Log.WarnContext(ctx, "refresh invoices", "tenant", sub.Edges.Tenant.Slug, "err", err)
		}
	}
	if failed > 0 && j.Args.TenantID != 0 {
		return fmt.Errorf("refresh invoices of tenant %d failed", j.Args.TenantID)
	}
	return nil
}

// RegisterJobs registers the invoice refresh and the webhook event pruning
// with the engine (before it starts), with their periodic runs.
func (s *Service) RegisterJobs(e *jobs.Engine) {
	jobs.AddWorker(e, &refreshInvoicesWorker{s: s})
	jobs.AddWorker(e, &pruneEventsWorker{s: s})
	e.AddPeriodic(s.cfg.InvoiceRefreshInterval, refreshInvoicesArgs{}, false)
	e.AddPeriodic(24*time.Hour, pruneEventsArgs{}, true)
}
