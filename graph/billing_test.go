package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/stripe/stripeclient"
	"github.com/dezky/platform/providers/stripe/stripetest"
)

// billingWorld is a server whose billing runs through the real stripe
// plugin process against stripe-mock, behind a recording proxy.
type billingWorld struct {
	*testserver.Server
	rec    *stripetest.Recorder
	secret string
	log    *syncBuffer
}

const (
	testWebhookSecret  = "whsec_dezky_test_0123456789"
	testPublishableKey = "pk_test_dezky"
)

func startBillingWorld(t *testing.T, d string) *billingWorld {
	t.Helper()
	mock := stripetest.Start(t)
	w := &billingWorld{rec: stripetest.NewRecorder(t, mock.URL), secret: testWebhookSecret, log: &syncBuffer{}}
	dir := t.TempDir()
	conformance.BuildProvider(t, "github.com/dezky/platform/providers/stripe", "stripe", dir)
	w.Server = testserver.StartWith(t, d, func(c *app.ServeConfig) {
		c.PluginsDir = dir
		c.Providers = app.ProvidersConfig{
			sdk.CapabilityBilling: {Plugin: "stripe",
				Settings: map[string]string{"api_base_url": w.rec.URL, "publishable_key": testPublishableKey},
				Secrets:  map[string]string{"api_key": mock.APIKey, "webhook_secret": w.secret}},
		}
		c.Log = slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	w.WaitProvisioned()
	return w
}

// subscription is acme's subscription row, read as the system.
func (w *billingWorld) subscription(t *testing.T, slug string) (customerID, subscriptionID string, status tenantsubscription.Status) {
	t.Helper()
	sub, err := w.DB.Client.TenantSubscription.Query().Where(tenantsubscription.HasTenantWith(tenant.Slug(slug))).
		Only(viewer.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return sub.ProviderCustomerID, sub.ProviderSubscriptionID, sub.Status
}

// deliver posts a webhook body signed (at signedAt) with secret and
// returns the HTTP status and body.
func (w *billingWorld) deliver(t *testing.T, body []byte, secret string, signedAt time.Time) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.URL+"/webhooks/billing", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(stripeclient.SignatureHeader, stripeclient.SignPayload(secret, signedAt, body))
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(rsp.Body)
	return rsp.StatusCode, b.String()
}

// stripeEvent is a Stripe event payload about object, created at `at`.
func stripeEvent(id, typ string, at time.Time, object map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": "2023-10-16", "created": at.Unix(), "livemode": false,
		"type": typ, "data": map[string]any{"object": object},
	})
	return b
}

func (w *billingWorld) auditCount(t *testing.T, action string) int {
	t.Helper()
	n, err := w.DB.Client.AuditEvent.Query().Where(auditevent.Action(action)).Count(viewer.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const (
	billingDetailsQ = `query { tenant(slug: "acme") { billingDetails { companyName vatId country billingEmail } } }`
	updateDetailsQ  = `mutation($in: BillingDetailsInput!) { updateBillingDetails(tenantSlug: "acme", input: $in) { companyName vatId country billingEmail } }`
	invoicesQ       = `query($after: Cursor) { tenant(slug: "acme") { invoices(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id providerInvoiceId number status currency total { amount currency } amountDue { amount } amountPaid { amount } periodStart periodEnd issuedAt hostedUrl pdfUrl } } } } }`
	paymentMethodQ  = `query { tenant(slug: "acme") { paymentMethod { brand last4 expMonth expYear } } }`
)

type billingDetails struct {
	CompanyName, VatID, Country, BillingEmail *string
}

type invoiceNode struct {
	ID, ProviderInvoiceID, Status, Currency string
	Number                                  *string
	Total, AmountDue, AmountPaid            struct {
		Amount   int64
		Currency string
	}
	PeriodStart, PeriodEnd *string
	IssuedAt               string
	HostedURL, PdfURL      *string `json:"-"`
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// TestCustomerBilling drives the customer billing surface end to end
// through the stripe plugin and stripe-mock: billing details (validated,
// audited by field name, mirrored to the Stripe customer), the payment
// method setup (secret shown once), the default card, the invoice cache,
// signed webhooks (deduplicated, order-independent, refusals writing
// nothing) and the dashboard.
func TestCustomerBilling(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			w := startBillingWorld(t, d)
			admin := w.Token("admin:acme")
			cust, subID, st := w.subscription(t, "acme")
			if cust == "" || subID == "" || st != tenantsubscription.StatusActive {
				t.Fatalf("acme's subscription was not mirrored: customer %q, subscription %q, %s", cust, subID, st)
			}

			t.Run("details", func(t *testing.T) {
				var got struct{ UpdateBillingDetails billingDetails }
				w.Do(testserver.Request{Token: admin, Query: updateDetailsQ, Variables: map[string]any{"in": map[string]any{
					"companyName": " Acme GmbH ", "vatId": "de 123.456-789", "country": "de", "billingEmail": "billing@acme.example",
				}}}).Decode(t, &got)
				u := got.UpdateBillingDetails
				if str(u.CompanyName) != "Acme GmbH" || str(u.VatID) != "DE123456789" || str(u.Country) != "DE" || str(u.BillingEmail) != "billing@acme.example" {
					t.Fatalf("normalised details: %+v", u)
				}
				if n := w.auditCount(t, "billing.details_updated"); n != 1 {
					t.Fatalf("%d billing.details_updated events, want 1", n)
				}
				// The billing job mirrors them to the Stripe customer.
				w.WaitProvisioned()
				var mirrored bool
				for _, r := range w.rec.Find(http.MethodPost, "/v1/customers") {
					if r.Param("name") == "Acme GmbH" && r.Param("email") == "billing@acme.example" && r.Param("address[country]") == "DE" &&
						r.Param("tax_id_data[0][type]") == "eu_vat" && r.Param("tax_id_data[0][value]") == "DE123456789" {
						mirrored = true
					}
				}
				if !mirrored {
					t.Fatalf("no customer request carried the billing details: %+v", w.rec.Find(http.MethodPost, "/v1/customers"))
				}

				before := w.Query("admin:acme", billingDetailsQ, nil).Body
				for _, c := range []struct {
					in    map[string]any
					field string
				}{
					{map[string]any{"vatId": "US123456789"}, "vatId"},
					{map[string]any{"vatId": "DE1"}, "vatId"},
					{map[string]any{"vatId": "FR12345678901"}, "vatId"}, // not the billing country
					{map[string]any{"country": "ZZ"}, "country"},
					{map[string]any{"billingEmail": "Billing <billing@acme.example>"}, "billingEmail"},
					{map[string]any{"billingEmail": "nobody"}, "billingEmail"},
					{map[string]any{"companyName": strings.Repeat("x", 201)}, "companyName"},
				} {
					rsp := w.Do(testserver.Request{Token: admin, Query: updateDetailsQ, Variables: map[string]any{"in": c.in}})
					if rsp.Code() != "BAD_USER_INPUT" || rsp.Errors[0].Extensions["field"] != c.field {
						t.Fatalf("%v: want BAD_USER_INPUT on %s, got %s", c.in, c.field, rsp.Body)
					}
				}
				if rsp := w.Query("member:acme", updateDetailsQ, map[string]any{"in": map[string]any{"companyName": "Mine"}}); rsp.Code() != "FORBIDDEN" {
					t.Fatalf("a member changed billing details: %s", rsp.Body)
				}
				if after := w.Query("admin:acme", billingDetailsQ, nil).Body; !bytes.Equal(before, after) {
					t.Fatalf("a refused change changed the details: %s -> %s", before, after)
				}
				if n := w.auditCount(t, "billing.details_updated"); n != 1 {
					t.Fatalf("refused changes were audited: %d events", n)
				}
				// Blank unsets, omitted keeps.
				w.Do(testserver.Request{Token: admin, Query: updateDetailsQ, Variables: map[string]any{"in": map[string]any{"vatId": "  "}}}).Decode(t, &got)
				if got.UpdateBillingDetails.VatID != nil || str(got.UpdateBillingDetails.CompanyName) != "Acme GmbH" {
					t.Fatalf("after unsetting the VAT number: %+v", got.UpdateBillingDetails)
				}
				// The change's billing job runs before the next steps read the
				// provider ids (stripe-mock mints new ones on every run).
				w.WaitProvisioned()
			})

			t.Run("payment method", func(t *testing.T) {
				const setupQ = `mutation { createPaymentMethodSetup(tenantSlug: "acme") { clientSecret publishableKey } }`
				req := testserver.Request{Token: admin, Query: setupQ, Headers: map[string]string{"Idempotency-Key": "setup-1"}}
				var got struct {
					CreatePaymentMethodSetup struct{ ClientSecret, PublishableKey *string }
				}
				w.Do(req).Decode(t, &got)
				secret := str(got.CreatePaymentMethodSetup.ClientSecret)
				if !strings.Contains(secret, "_secret_") || str(got.CreatePaymentMethodSetup.PublishableKey) != testPublishableKey {
					t.Fatalf("setup: %+v", got)
				}
				if n := len(w.rec.Find(http.MethodPost, "/v1/setup_intents")); n != 1 {
					t.Fatalf("%d setup intents created, want 1", n)
				}
				w.Do(req).Decode(t, &got)
				if got.CreatePaymentMethodSetup.ClientSecret != nil || str(got.CreatePaymentMethodSetup.PublishableKey) != testPublishableKey {
					t.Fatalf("replay showed the secret again: %+v", got)
				}
				if n := len(w.rec.Find(http.MethodPost, "/v1/setup_intents")); n != 1 {
					t.Fatalf("the replay created another setup intent (%d)", n)
				}
				if strings.Contains(dump(t, w.Server), secret) || strings.Contains(w.log.String(), secret) {
					t.Fatal("the setup's client secret is stored or logged")
				}

				const setDefaultQ = `mutation($pm: String!) { setDefaultPaymentMethod(tenantSlug: "acme", paymentMethodId: $pm) { brand last4 expMonth expYear } }`
				var set struct {
					SetDefaultPaymentMethod *struct {
						Brand, Last4      string
						ExpMonth, ExpYear int
					}
				}
				w.Do(testserver.Request{Token: admin, Query: setDefaultQ, Variables: map[string]any{"pm": "pm_card_visa"}}).Decode(t, &set)
				c := set.SetDefaultPaymentMethod
				if c == nil || c.Brand != "visa" || c.Last4 != "4242" || c.ExpMonth < 1 || c.ExpYear < 2000 {
					t.Fatalf("default card: %+v", c)
				}
				custNow, _, _ := w.subscription(t, "acme")
				if n := len(w.rec.Find(http.MethodGet, "/v1/customers/"+custNow+"/payment_methods/pm_card_visa")); n != 1 {
					t.Fatalf("the card was not read through the customer (%d requests)", n)
				}
				var defaulted bool
				for _, r := range w.rec.Find(http.MethodPost, "/v1/customers/"+custNow) {
					defaulted = defaulted || r.Param("invoice_settings[default_payment_method]") == "pm_card_visa"
				}
				if !defaulted {
					t.Fatal("the payment method was not made the customer's default")
				}
				// Another customer's payment method: Stripe answers 404.
				w.rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
					if strings.HasSuffix(r.Path, "/payment_methods/pm_someone_else") {
						return stripetest.Reply{Status: http.StatusNotFound, Body: `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such PaymentMethod: 'pm_someone_else'"}}`}, true
					}
					return stripetest.Reply{}, false
				})
				defer w.rec.Intercept(nil)
				if rsp := w.Do(testserver.Request{Token: admin, Query: setDefaultQ, Variables: map[string]any{"pm": "pm_someone_else"}}); rsp.Code() != "NOT_FOUND" {
					t.Fatalf("another customer's payment method: %s", rsp.Body)
				}
				if rsp := w.Do(testserver.Request{Token: admin, Query: setDefaultQ, Variables: map[string]any{"pm": "pm_x/../../v1/customers"}}); rsp.Code() != "BAD_USER_INPUT" {
					t.Fatalf("a path in the payment method id: %s", rsp.Body)
				}
				var pm struct {
					Tenant struct {
						PaymentMethod *struct{ Brand, Last4 string }
					}
				}
				w.Query("admin:acme", paymentMethodQ, nil).Decode(t, &pm)
				if pm.Tenant.PaymentMethod == nil || pm.Tenant.PaymentMethod.Brand != "visa" {
					t.Fatalf("after refused changes the card is %+v", pm.Tenant.PaymentMethod)
				}
			})

			t.Run("invoices and webhooks", func(t *testing.T) {
				custNow, subNow, _ := w.subscription(t, "acme")
				var n struct{ RefreshInvoices int }
				w.Query("admin:acme", `mutation { refreshInvoices(tenantSlug: "acme") }`, nil).Decode(t, &n)
				if n.RefreshInvoices < 1 {
					t.Fatalf("refreshInvoices listed %d invoices", n.RefreshInvoices)
				}
				type page struct {
					Tenant struct {
						Invoices struct {
							TotalCount int
							PageInfo   struct {
								HasNextPage bool
								EndCursor   *string
							}
							Edges []struct{ Node invoiceNode }
						}
					}
				}
				var p page
				w.Query("admin:acme", invoicesQ, nil).Decode(t, &p)
				if len(p.Tenant.Invoices.Edges) != 1 {
					t.Fatalf("invoices: %+v", p)
				}
				inv := p.Tenant.Invoices.Edges[0].Node
				// stripe-mock's invoice fixture: a USD draft of 10.00.
				if inv.Status != "DRAFT" || inv.Total.Amount != 1000 || inv.Total.Currency != "USD" || inv.Currency != "USD" || inv.PeriodStart == nil {
					t.Fatalf("cached invoice: %+v", inv)
				}
				if rsp := w.Query("member:acme", invoicesQ, nil); rsp.Code() != "FORBIDDEN" {
					t.Fatalf("a member read the invoices: %s", rsp.Body)
				}

				now := time.Now().Truncate(time.Second)
				invObj := func(status string, paid int64) map[string]any {
					return map[string]any{"id": inv.ProviderInvoiceID, "object": "invoice", "customer": custNow, "subscription": subNow,
						"status": status, "currency": "usd", "total": 1000, "amount_due": 1000 - paid, "amount_paid": paid,
						"number": "ACME-0001", "hosted_invoice_url": "https://invoice.stripe.com/i/acme-0001", "invoice_pdf": "https://pay.stripe.com/invoice/acme-0001/pdf",
						"created": now.Add(-time.Hour).Unix(), "period_start": now.Add(-30 * 24 * time.Hour).Unix(), "period_end": now.Unix()}
				}
				paid := stripeEvent("evt_paid_1", "invoice.paid", now, invObj("paid", 1000))
				if code, body := w.deliver(t, paid, w.secret, time.Now()); code != http.StatusOK || !strings.Contains(body, `"applied":1`) {
					t.Fatalf("invoice.paid: %d %s", code, body)
				}
				// An older event arriving late does not move the status back.
				finalized := stripeEvent("evt_finalized_1", "invoice.finalized", now.Add(-time.Minute), invObj("open", 0))
				if code, body := w.deliver(t, finalized, w.secret, time.Now()); code != http.StatusOK || !strings.Contains(body, `"applied":1`) {
					t.Fatalf("late invoice.finalized: %d %s", code, body)
				}
				w.Query("admin:acme", invoicesQ, nil).Decode(t, &p)
				inv = p.Tenant.Invoices.Edges[0].Node
				if inv.Status != "PAID" || inv.AmountPaid.Amount != 1000 || inv.AmountDue.Amount != 0 || str(inv.Number) != "ACME-0001" {
					t.Fatalf("after paid then a late finalized: %+v", inv)
				}
				// A redelivery (newly signed) writes nothing.
				auditsBefore := w.auditCount(t, "billing.invoice.paid")
				if code, body := w.deliver(t, paid, w.secret, time.Now()); code != http.StatusOK || !strings.Contains(body, `"applied":0`) {
					t.Fatalf("redelivery: %d %s", code, body)
				}
				if got := w.auditCount(t, "billing.invoice.paid"); got != auditsBefore || got != 1 {
					t.Fatalf("billing.invoice.paid audited %d times", got)
				}

				// Refusals write nothing.
				state := func() string {
					return dumpTables(t, w.Server, "invoices", "billing_events", "billing_accounts", "tenant_subscriptions", "subscription_revisions") +
						fmt.Sprint(w.auditCount(t, "billing.invoice.payment_failed"))
				}
				snapshot := state()
				failed := stripeEvent("evt_failed_1", "invoice.payment_failed", now.Add(time.Minute), invObj("open", 0))
				if code, _ := w.deliver(t, failed, "whsec_wrong", time.Now()); code != http.StatusUnauthorized {
					t.Fatalf("bad signature answered %d", code)
				}
				if code, _ := w.deliver(t, failed, w.secret, time.Now().Add(-time.Hour)); code != http.StatusUnauthorized {
					t.Fatalf("stale signature answered %d", code)
				}
				if code, _ := w.deliver(t, failed, "", time.Now()); code != http.StatusUnauthorized {
					t.Fatalf("unsigned delivery answered %d", code)
				}
				if code, _ := w.deliver(t, []byte(`{"id": "evt_x", "type": 7}`), w.secret, time.Now()); code != http.StatusBadRequest {
					t.Fatalf("malformed signed body answered %d", code)
				}
				if code, _ := w.deliver(t, bytes.Repeat([]byte("x"), 300<<10), w.secret, time.Now()); code != http.StatusRequestEntityTooLarge {
					t.Fatalf("oversized body answered %d", code)
				}
				if after := state(); after != snapshot {
					t.Fatalf("a refused delivery changed the database:\n%s", lineDiff(snapshot, after))
				}

				// A failed payment makes the subscription PAST_DUE; an older
				// "active" statement arriving later is ignored; a newer
				// payment makes it ACTIVE again.
				if code, body := w.deliver(t, failed, w.secret, time.Now()); code != http.StatusOK || !strings.Contains(body, `"applied":1`) {
					t.Fatalf("invoice.payment_failed: %d %s", code, body)
				}
				if _, _, st := w.subscription(t, "acme"); st != tenantsubscription.StatusPastDue {
					t.Fatalf("after a failed payment the subscription is %s", st)
				}
				oldActive := stripeEvent("evt_sub_old", "customer.subscription.updated", now.Add(30*time.Second), map[string]any{
					"id": subNow, "object": "subscription", "customer": custNow, "status": "active", "current_period_end": now.Add(29 * 24 * time.Hour).Unix()})
				w.deliver(t, oldActive, w.secret, time.Now())
				if _, _, st := w.subscription(t, "acme"); st != tenantsubscription.StatusPastDue {
					t.Fatalf("an older active statement moved the subscription to %s", st)
				}
				repaid := stripeEvent("evt_paid_2", "invoice.paid", now.Add(2*time.Minute), invObj("paid", 1000))
				w.deliver(t, repaid, w.secret, time.Now())
				if _, _, st := w.subscription(t, "acme"); st != tenantsubscription.StatusActive {
					t.Fatalf("after the payment the subscription is %s", st)
				}
				// The newer card statement of the default payment method.
				card := stripeEvent("evt_pm_1", "payment_method.attached", now.Add(3*time.Minute), map[string]any{
					"id": "pm_card_visa", "object": "payment_method", "customer": custNow,
					"card": map[string]any{"brand": "mastercard", "last4": "4444", "exp_month": 12, "exp_year": 2031}})
				w.deliver(t, card, w.secret, time.Now())
				var pm struct {
					Tenant struct {
						PaymentMethod *struct {
							Brand, Last4      string
							ExpMonth, ExpYear int
						}
					}
				}
				w.Query("admin:acme", paymentMethodQ, nil).Decode(t, &pm)
				if c := pm.Tenant.PaymentMethod; c == nil || c.Brand != "mastercard" || c.Last4 != "4444" || c.ExpMonth != 12 || c.ExpYear != 2031 {
					t.Fatalf("card after payment_method.attached: %+v", c)
				}
				for _, a := range []string{"billing.invoice.paid", "billing.invoice.finalized", "billing.invoice.payment_failed", "billing.customer.subscription.updated", "billing.payment_method.attached"} {
					if w.auditCount(t, a) == 0 {
						t.Errorf("no %s audit event", a)
					}
				}
			})

			t.Run("dashboard", func(t *testing.T) {
				const q = `query { tenant(slug: "acme") { members { totalCount } dashboard { seatsUsed seatsTotal plan monthlySpend { amount currency } renewsAt recentAudit { action at } } mrr { amount currency } } }`
				var got struct {
					Tenant struct {
						Members   struct{ TotalCount int }
						Dashboard struct {
							SeatsUsed, SeatsTotal int
							Plan                  string
							MonthlySpend          *struct {
								Amount   int64
								Currency string
							}
							RenewsAt    *string
							RecentAudit []struct{ Action, At string }
						}
						Mrr struct {
							Amount   int64
							Currency string
						}
					}
				}
				w.Query("admin:acme", q, nil).Decode(t, &got)
				db := got.Tenant.Dashboard
				if db.SeatsTotal != 25 || db.SeatsUsed != got.Tenant.Members.TotalCount || db.Plan != "BUSINESS" {
					t.Fatalf("dashboard seats and plan: %+v", db)
				}
				if db.MonthlySpend == nil || db.MonthlySpend.Amount != got.Tenant.Mrr.Amount || db.MonthlySpend.Currency != got.Tenant.Mrr.Currency {
					t.Fatalf("monthly spend %+v, MRR %+v", db.MonthlySpend, got.Tenant.Mrr)
				}
				if len(db.RecentAudit) != 5 || db.RecentAudit[0].At < db.RecentAudit[4].At {
					t.Fatalf("recent audit: %+v", db.RecentAudit)
				}
				if rsp := w.Query("member:acme", `query { tenant(slug: "acme") { dashboard { seatsUsed } } }`, nil); rsp.Code() != "FORBIDDEN" {
					t.Fatalf("a member read the dashboard: %s", rsp.Body)
				}
			})
		})
	}
}

// lineDiff lists the lines only in a (-) or only in b (+).
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out strings.Builder
	for l := range ma {
		if !mb[l] {
			out.WriteString("- " + l + "\n")
		}
	}
	for l := range mb {
		if !ma[l] {
			out.WriteString("+ " + l + "\n")
		}
	}
	return out.String()
}
