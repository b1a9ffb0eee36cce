package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/riverqueue/river"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/billingaccount"
	"github.com/dezky/platform/ent/billingevent"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/internal/webhookin"
	"github.com/dezky/platform/plugins/sdk"
)

// WebhookPath is where WebhookHandler is mounted.
const WebhookPath = "/webhooks/billing"

// auditSource is the audit trail's source of billing provider events.
const auditSource = "billing"

// WebhookHandler serves POST /webhooks/billing: the body (at most
// Config.MaxWebhookBody bytes) and headers go to the billing plugin, which
// verifies the signature and its timestamp and parses the events; new
// events are applied and audited in one transaction. It answers
//
//   - 200 {"received": n, "applied": k, "unattributed": u} (a
//     redelivery: k = 0; u of the k new events concern no known
//     customer and were recorded only);
//   - 400 for a signed body that does not parse, 401 for a missing, bad
//     or stale signature, 413 for a body over the limit; nothing is
//     written then;
//   - 503 without a working billing plugin and 500 when the events could
//     not be written, so that the provider delivers again.
func (s *Service) WebhookHandler() http.Handler {
	return webhookin.Handler("billing", s.cfg.MaxWebhookBody, s.cfg.Log, func(ctx context.Context, hook sdk.Webhook) (any, error) {
		res, err := s.Ingest(ctx, hook)
		return map[string]any{"received": res.Received, "applied": res.Applied, "unattributed": res.Unattributed}, err
	})
}

// IngestResult counts a delivery's events: received, new (applied), and
// new ones about no known customer (recorded and audited only).
type IngestResult struct {
	Received, Applied, Unattributed int
}

// Ingest verifies and parses one webhook delivery through the billing
// plugin and applies its new events in one transaction, as the system. A
// signature failure is the plugin's UNAUTHENTICATED error, a malformed
// signed body its INVALID error; nothing is written then.
func (s *Service) Ingest(ctx context.Context, hook sdk.Webhook) (IngestResult, error) {
	if s.cfg.Providers == nil {
		return IngestResult{}, sdk.Unsupported("no billing provider configured")
	}
	b, err := s.cfg.Providers.Billing()
	if err != nil {
		return IngestResult{}, fmt.Errorf("billing webhook: plugin: %w", err)
	}
	evs, err := b.ParseBillingWebhook(ctx, hook)
	if err != nil {
		return IngestResult{}, fmt.Errorf("billing webhook: %w", err)
	}
	res := IngestResult{Received: len(evs)}
	// The provider's signed statement, applied as the system.
	ctx = viewer.SystemContext(ctx)
	err = db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		for _, ev := range evs {
			ok, attributed, err := s.applyEvent(ctx, ev)
			if err != nil {
				return err
			}
			if ok {
				res.Applied++
				if !attributed {
					res.Unattributed++
				}
			}
		}
		return nil
	})
	if err != nil {
		return IngestResult{Received: len(evs)}, err
	}
	return res, nil
}

// applyEvent records ev's id (false when it was seen before: nothing else
// is written), applies it to the tenant it concerns (attributed: one was
// found) and audits it.
func (s *Service) applyEvent(ctx context.Context, ev sdk.BillingEvent) (applied, attributed bool, err error) {
	if ev.ID == "" || ev.Type == "" {
		return false, false, sdk.Invalid("billing event without id or type")
	}
	at := ev.Time.UTC()
	if at.IsZero() {
		at = time.Now().UTC()
	}
	c := ent.FromContext(ctx)
	t, sub, err := s.eventTenant(ctx, ev)
	if err != nil {
		return false, false, err
	}
	create := c.BillingEvent.Create().SetProviderEventID(ev.ID).SetType(ev.Type).SetOccurredAt(at)
	if t != nil {
		create.SetTenantID(t.ID)
	}
	err = create.OnConflict(entsql.ConflictColumns(billingevent.FieldProviderEventID), entsql.DoNothing()).Exec(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil // a redelivery or replay
	}
	if err != nil {
		return false, false, fmt.Errorf("billing webhook: record event %s: %w", ev.ID, err)
	}
	effect := "none"
	if t != nil {
		if effect, err = s.applyEffect(ctx, t, sub, ev, at); err != nil {
			return false, false, err
		}
	}
	md := map[string]any{"effect": effect}
	for _, k := range []string{"status", "currency", "amount_due", "amount_paid", "total", "number", "subscription_id", "invoice_id"} {
		if v := ev.Data[k]; v != "" {
			md[k] = v
		}
	}
	if ev.CustomerID != "" {
		md["customer_id"] = ev.CustomerID
	}
	resName := ""
	if t != nil {
		resName = t.Slug
	}
	if _, err := audit.RecordExternal(ctx, audit.ExternalEvent{
		Source: auditSource, ExternalID: ev.ID, At: at, Action: "billing." + ev.Type, ActorType: "system",
		ResourceType: objectType(ev), ResourceID: ev.ObjectID, ResourceName: resName, Tenant: t, Metadata: md,
	}); err != nil {
		return false, false, err
	}
	return true, t != nil, nil
}

// objectType is the kind of object ev concerns.
func objectType(ev sdk.BillingEvent) string {
	if o := ev.Data["object_type"]; o != "" {
		return o
	}
	for i := range len(ev.Type) {
		if ev.Type[i] == '.' {
			return ev.Type[:i]
		}
	}
	return ev.Type
}

// eventTenant finds the tenant ev concerns: by its customer, through the
// subscription mirrored with it or the billing account that recorded it.
// It returns the subscription too when the customer has one.
func (s *Service) eventTenant(ctx context.Context, ev sdk.BillingEvent) (*ent.Tenant, *ent.TenantSubscription, error) {
	c := ent.FromContext(ctx)
	if ev.CustomerID == "" {
		return nil, nil, nil
	}
	sub, err := c.TenantSubscription.Query().Where(tenantsubscription.ProviderCustomerID(ev.CustomerID)).WithTenant().First(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, nil, fmt.Errorf("billing webhook: subscription of customer: %w", err)
	}
	if sub != nil {
		return sub.Edges.Tenant, sub, nil
	}
	a, err := c.BillingAccount.Query().Where(billingaccount.ProviderCustomerID(ev.CustomerID)).WithTenant().First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("billing webhook: account of customer: %w", err)
	}
	return a.Edges.Tenant, nil, nil
}

// applyEffect applies ev to t and names what it changed.
func (s *Service) applyEffect(ctx context.Context, t *ent.Tenant, sub *ent.TenantSubscription, ev sdk.BillingEvent, at time.Time) (string, error) {
	switch objectType(ev) {
	case "invoice":
		in := invoiceFromEvent(ev)
		changed, err := s.applyInvoice(ctx, t.ID, in, at)
		if err != nil {
			return "", err
		}
		effect := "invoice unchanged"
		if changed {
			effect = "invoice " + in.Status
		}
		switch ev.Type {
		case "invoice.payment_failed":
			if e, err := s.subscriptionStatus(ctx, sub, ev.Data["subscription_id"], at, "past_due", time.Time{}); err != nil || e != "" {
				return join(effect, e), err
			}
		case "invoice.paid", "invoice.payment_succeeded":
			if e, err := s.subscriptionStatus(ctx, sub, ev.Data["subscription_id"], at, "active", time.Time{}); err != nil || e != "" {
				return join(effect, e), err
			}
		}
		return effect, nil
	case "subscription":
		status := ev.Data["status"]
		if ev.Type == "customer.subscription.deleted" {
			status = "canceled"
		}
		e, err := s.subscriptionStatus(ctx, sub, ev.ObjectID, at, status, unixData(ev.Data, "current_period_end"))
		if e == "" {
			e = "subscription unchanged"
		}
		return e, err
	case "payment_method":
		return s.applyCard(ctx, t, ev, at)
	}
	return "none", nil
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

// invoiceFromEvent reads an invoice from a billing event's data.
func invoiceFromEvent(ev sdk.BillingEvent) sdk.Invoice {
	d := ev.Data
	num := func(k string) int64 { n, _ := strconv.ParseInt(d[k], 10, 64); return n }
	id := d["invoice_id"]
	if id == "" {
		id = ev.ObjectID
	}
	return sdk.Invoice{
		ID: id, Number: d["number"], Status: d["status"], Currency: d["currency"],
		AmountDue: num("amount_due"), AmountPaid: num("amount_paid"), Total: num("total"),
		Created: unixData(d, "created"), HostedURL: d["hosted_url"], PDFURL: d["pdf_url"],
		PeriodStart: unixData(d, "period_start"), PeriodEnd: unixData(d, "period_end"),
	}
}

// unixData reads a Unix-seconds time from event data (zero when absent).
func unixData(d map[string]string, k string) time.Time {
	n, err := strconv.ParseInt(d[k], 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// subscriptionStatus applies a provider subscription status (active,
// past_due, unpaid, canceled, ...) stated at `at` to sub, when the
// statement concerns sub's provider subscription (providerSubID, if
// given) and is not older than the last one applied: past_due or unpaid
// makes an ACTIVE subscription PAST_DUE, active or trialing makes a
// PAST_DUE one ACTIVE again, canceled cancels it; a PAUSED (suspended)
// subscription keeps its status. A non-zero periodEnd is recorded as the
// current period's end. It names the change, "" for none.
func (s *Service) subscriptionStatus(ctx context.Context, sub *ent.TenantSubscription, providerSubID string, at time.Time, status string, periodEnd time.Time) (string, error) {
	if sub == nil || (providerSubID != "" && providerSubID != sub.ProviderSubscriptionID) {
		return "", nil
	}
	if sub.ProviderEventAt != nil && at.Before(*sub.ProviderEventAt) {
		return "stale subscription event ignored", nil
	}
	next := sub.Status
	switch status {
	case "past_due", "unpaid":
		if sub.Status == tenantsubscription.StatusActive {
			next = tenantsubscription.StatusPastDue
		}
	case "active", "trialing":
		if sub.Status == tenantsubscription.StatusPastDue {
			next = tenantsubscription.StatusActive
		}
	case "canceled", "incomplete_expired":
		next = tenantsubscription.StatusCanceled
	}
	reason := "billing provider: " + status
	_, err := subscriptions.Update(ctx, s.cfg.Client, sub, at, reason, func(u *ent.TenantSubscriptionUpdateOne) {
		u.SetProviderEventAt(at).SetStatus(next)
		if !periodEnd.IsZero() {
			u.SetCurrentPeriodEnd(periodEnd)
		}
	})
	if err != nil {
		return "", fmt.Errorf("billing webhook: subscription of tenant %d: %w", sub.TenantID, err)
	}
	if next == sub.Status {
		return "", nil
	}
	return "subscription " + string(next), nil
}

// applyCard records a payment method's card on t's billing account when it
// is the recorded default (or none is recorded yet) and the statement is
// not older than the one the account holds.
func (s *Service) applyCard(ctx context.Context, t *ent.Tenant, ev sdk.BillingEvent, at time.Time) (string, error) {
	d := ev.Data
	if d["card.brand"] == "" {
		return "not a card", nil
	}
	a, err := s.account(ctx, t.ID)
	if err != nil {
		return "", err
	}
	if a != nil && a.PaymentMethodID != "" && a.PaymentMethodID != ev.ObjectID {
		return "not the default payment method", nil
	}
	if a != nil && a.CardEventAt != nil && at.Before(*a.CardEventAt) {
		return "stale card event ignored", nil
	}
	month, _ := strconv.Atoi(d["card.exp_month"])
	year, _ := strconv.Atoi(d["card.exp_year"])
	if month < 0 || month > 12 || year < 0 {
		return "", sdk.Invalid("payment method %s has an invalid expiry", ev.ObjectID)
	}
	last4 := d["card.last4"]
	if len(last4) > 4 {
		last4 = last4[len(last4)-4:]
	}
	err = ent.FromContext(ctx).BillingAccount.Create().SetTenantID(t.ID).SetPaymentMethodID(ev.ObjectID).
		SetCardBrand(d["card.brand"]).SetCardLast4(last4).SetCardExpMonth(month).SetCardExpYear(year).SetCardEventAt(at).
		OnConflictColumns(billingaccount.FieldTenantID).
		Update(func(u *ent.BillingAccountUpsert) {
			u.SetPaymentMethodID(ev.ObjectID).SetCardBrand(d["card.brand"]).SetCardLast4(last4).
				SetCardExpMonth(month).SetCardExpYear(year).SetCardEventAt(at).UpdateUpdatedAt()
		}).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("billing webhook: card of %s: %w", t.Slug, err)
	}
	return "card recorded", nil
}

// pruneEventsArgs is the periodic job forgetting applied event ids older
// than the retention.
type pruneEventsArgs struct{}

// Kind names the job kind.
func (pruneEventsArgs) Kind() string { return "prune_billing_events" }

type pruneEventsWorker struct {
	river.WorkerDefaults[pruneEventsArgs]
	s *Service
}

// Work deletes event ids received before the retention.
func (w *pruneEventsWorker) Work(ctx context.Context, _ *river.Job[pruneEventsArgs]) error {
	ctx = viewer.SystemContext(ctx)
	n, err := w.s.cfg.Client.BillingEvent.Delete().
		Where(billingevent.ReceivedAtLT(time.Now().Add(-w.s.cfg.EventRetention))).Exec(ctx)
	if err != nil {
		return fmt.Errorf("prune billing events: %w", err)
	}
	if n > 0 {
		w.s.cfg.Log.InfoContext(ctx, "pruned billing webhook events", "deleted", n)
	}
	return nil
}
