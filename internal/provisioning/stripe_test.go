package provisioning_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dezky/platform/ent/price"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/pricing"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/stripe/stripetest"
)

// TestPriceEditMovesStripeSubscriptions follows a catalog price edit
// through the real stripe plugin to stripe-mock, request by request: the
// edit mints a new Stripe price for the new amount and moves the tenant's
// subscription onto it without proration; a failing move is recorded on
// the subscription (syncError) and cleared once a later run succeeds.
func TestPriceEditMovesStripeSubscriptions(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		mock := stripetest.Start(t)
		rec := stripetest.NewRecorder(t, mock.URL)
		h := startHost(t, map[sdk.Capability]host.Binding{
			sdk.CapabilityBilling: {Plugin: "stripe", Settings: map[string]string{"api_base_url": rec.URL}, Secrets: map[string]string{"api_key": mock.APIKey}},
		})
		f := newFixture(t, d, h)
		f.maxAttempts = 2
		f.prov, _ = f.replica(t)
		f.tenants.SetLifecycle(f.prov)
		createTenant(t, f, "acme", tenant.PlanBusiness, 5)
		drain(t, f)
		if st := statuses(t, f, "acme")[provisioning.Billing]; st.Status != provisioning.StatusOK {
			t.Fatalf("billing after create: %+v", st)
		}

		operator := viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "op", Email: "ops@dezky.example", Operator: true})
		biz, err := f.d.Client.Price.Query().Where(price.PlanEQ(price.PlanBusiness), price.Active(true)).Only(sys)
		if err != nil {
			t.Fatal(err)
		}
		rec.Reset()
		// The move fails first: Stripe is down for subscription updates.
		rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			if r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/v1/subscriptions/") {
				return stripetest.Reply{Status: http.StatusInternalServerError, Body: `{"error":{"type":"api_error","message":"temporarily unavailable"}}`}, true
			}
			return stripetest.Reply{}, false
		})
		if _, err := pricing.New(f.d.Client, f.prov).Update(operator, biz.ID, pricing.UpdateInput{Amounts: []schematype.Money{{Amount: 1500, Currency: "EUR"}}}); err != nil {
			t.Fatal(err)
		}
		drain(t, f)
		sub, err := f.d.Client.TenantSubscription.Query().Only(sys)
		if err != nil {
			t.Fatal(err)
		}
		if sub.UnitAmount != 1500 || sub.SyncError == "" {
			t.Fatalf("after a failed move: unit %d, syncError %q", sub.UnitAmount, sub.SyncError)
		}
		var minted bool
		for _, r := range rec.Find(http.MethodPost, "/v1/prices") {
			minted = minted || (r.Param("unit_amount") == "1500" && r.Param("currency") == "eur" && r.Param("recurring[interval]") == "month")
		}
		if !minted {
			t.Fatalf("no Stripe price was minted for 15.00 EUR: %+v", rec.Find(http.MethodPost, "/v1/prices"))
		}

		// Stripe is back: a reconcile moves the subscription, without
		// proration, and clears the error.
		rec.Intercept(nil)
		rec.Reset()
		tn, err := f.tenants.TenantBySlug(sys, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.prov.EnqueueBilling(sys, tn, "retry"); err != nil {
			t.Fatal(err)
		}
		drain(t, f)
		sub, err = f.d.Client.TenantSubscription.Query().Only(sys)
		if err != nil {
			t.Fatal(err)
		}
		if sub.SyncError != "" || sub.Status != tenantsubscription.StatusActive || sub.ProviderPriceID == "" {
			t.Fatalf("after the retry: %+v", sub)
		}
		var moved bool
		for _, r := range rec.Requests() {
			if r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/v1/subscriptions/") &&
				r.Param("proration_behavior") == "none" && r.Param("items[0][price]") == sub.ProviderPriceID {
				moved = true
			}
		}
		if !moved {
			t.Fatalf("the subscription was not moved to %s without proration", sub.ProviderPriceID)
		}
	})
}
