package conformance

import (
	"github.com/dezky/platform/plugins/sdk"
)

// billingSuite checks p against the sdk.Billing contract.
func billingSuite(t T, p sdk.Billing, opts ...Option) {
	o := apply(opts)
	ctx := testContext(t)
	const missing = "cf_missing_0000"

	var cust sdk.Customer
	t.Run("EnsureCustomer", func(t T) {
		var err error
		cust, err = p.EnsureCustomer(ctx, sdk.EnsureCustomerRequest{ExternalKey: o.prefix, Name: "Conformance", Email: "billing@" + o.prefix + ".example.test"})
		must(t, err, "EnsureCustomer")
		if cust.ID == "" {
			t.Fatalf("EnsureCustomer = %+v, want an ID", cust)
		}
		again, err := p.EnsureCustomer(ctx, sdk.EnsureCustomerRequest{ExternalKey: o.prefix, Name: "Conformance", Email: "billing@" + o.prefix + ".example.test"})
		must(t, err, "EnsureCustomer again")
		o.stateful(func() {
			if again.ID != cust.ID {
				t.Errorf("EnsureCustomer again ID = %q, want %q", again.ID, cust.ID)
			}
		})
		_, err = p.EnsureCustomer(ctx, sdk.EnsureCustomerRequest{Name: "no key"})
		wantCode(t, err, sdk.CodeInvalid, "EnsureCustomer without external key")
	})
	if cust.ID == "" {
		t.Fatal("no customer; later checks need one")
	}

	var price, dearer sdk.Price
	t.Run("EnsurePrice", func(t T) {
		req := sdk.EnsurePriceRequest{ProductKey: o.prefix + "-seat", ProductName: "Seat", Currency: "eur", UnitAmount: 1000, Interval: sdk.IntervalMonth}
		var err error
		price, err = p.EnsurePrice(ctx, req)
		must(t, err, "EnsurePrice")
		if price.ID == "" || price.UnitAmount != 1000 {
			t.Fatalf("EnsurePrice = %+v, want an ID and amount 1000", price)
		}
		again, err := p.EnsurePrice(ctx, req)
		must(t, err, "EnsurePrice again")
		o.stateful(func() {
			if again.ID != price.ID {
				t.Errorf("EnsurePrice again ID = %q, want %q", again.ID, price.ID)
			}
		})
		req.UnitAmount = 1200
		dearer, err = p.EnsurePrice(ctx, req)
		must(t, err, "EnsurePrice new amount")
		o.stateful(func() {
			if dearer.ID == price.ID {
				t.Errorf("EnsurePrice with a new amount reused price %q; prices are immutable", price.ID)
			}
		})
		bad := req
		bad.Interval = "fortnight"
		_, err = p.EnsurePrice(ctx, bad)
		wantCode(t, err, sdk.CodeInvalid, "EnsurePrice bad interval")
		bad = req
		bad.UnitAmount = -1
		_, err = p.EnsurePrice(ctx, bad)
		wantCode(t, err, sdk.CodeInvalid, "EnsurePrice negative amount")
	})
	if price.ID == "" {
		t.Fatal("no price; later checks need one")
	}

	t.Run("Subscription", func(t T) {
		req := sdk.CreateSubscriptionRequest{ExternalKey: o.prefix + "-sub", CustomerID: cust.ID, PriceID: price.ID, Quantity: 3, SendInvoice: true, DaysUntilDue: 14}
		sub, err := p.CreateSubscription(ctx, req)
		must(t, err, "CreateSubscription")
		if sub.ID == "" || sub.Status == "" {
			t.Fatalf("CreateSubscription = %+v, want an ID and a status", sub)
		}
		o.stateful(func() {
			again, err := p.CreateSubscription(ctx, req)
			must(t, err, "CreateSubscription again")
			if again.ID != sub.ID {
				t.Errorf("CreateSubscription again ID = %q, want %q", again.ID, sub.ID)
			}
			got, err := p.GetSubscription(ctx, sub.ID)
			must(t, err, "GetSubscription")
			if got.Quantity != 3 || got.CustomerID != cust.ID || got.PriceID != price.ID {
				t.Errorf("GetSubscription = %+v, want quantity 3 of %s for %s", got, price.ID, cust.ID)
			}
		})
		bad := req
		bad.ExternalKey, bad.Quantity = o.prefix+"-sub0", 0
		_, err = p.CreateSubscription(ctx, bad)
		wantCode(t, err, sdk.CodeInvalid, "CreateSubscription quantity 0")

		got, err := p.UpdateSubscriptionQuantity(ctx, sub.ID, 5)
		must(t, err, "UpdateSubscriptionQuantity")
		o.stateful(func() {
			if got.Quantity != 5 {
				t.Errorf("UpdateSubscriptionQuantity = %+v, want quantity 5", got)
			}
		})
		_, err = p.UpdateSubscriptionQuantity(ctx, sub.ID, 0)
		wantCode(t, err, sdk.CodeInvalid, "UpdateSubscriptionQuantity 0")

		got, err = p.PauseSubscription(ctx, sub.ID)
		must(t, err, "PauseSubscription")
		o.stateful(func() {
			if !got.Paused {
				t.Errorf("PauseSubscription = %+v, want paused", got)
			}
		})
		got, err = p.ResumeSubscription(ctx, sub.ID)
		must(t, err, "ResumeSubscription")
		o.stateful(func() {
			if got.Paused {
				t.Errorf("ResumeSubscription = %+v, want not paused", got)
			}
		})
		got, err = p.MoveSubscriptionPrice(ctx, sub.ID, dearer.ID)
		must(t, err, "MoveSubscriptionPrice")
		o.stateful(func() {
			if got.PriceID != dearer.ID {
				t.Errorf("MoveSubscriptionPrice = %+v, want price %s", got, dearer.ID)
			}
		})
		got, err = p.CancelSubscription(ctx, sub.ID)
		must(t, err, "CancelSubscription")
		o.stateful(func() {
			if got.Status != "canceled" {
				t.Errorf("CancelSubscription status = %q, want canceled", got.Status)
			}
		})
	})

	t.Run("PaymentMethod", func(t T) {
		si, err := p.CreateSetupIntent(ctx, cust.ID)
		must(t, err, "CreateSetupIntent")
		if si.ID == "" || si.ClientSecret == "" {
			t.Errorf("CreateSetupIntent = %+v, want an ID and a client secret", si)
		}
		must(t, p.SetDefaultPaymentMethod(ctx, cust.ID, "pm_card_visa"), "SetDefaultPaymentMethod")
		wantCode(t, p.SetDefaultPaymentMethod(ctx, cust.ID, ""), sdk.CodeInvalid, "SetDefaultPaymentMethod empty")
	})

	t.Run("Invoices", func(t T) {
		page, err := p.ListInvoices(ctx, sdk.ListInvoicesRequest{CustomerID: cust.ID, Limit: 5})
		must(t, err, "ListInvoices")
		if len(page.Invoices) > 5 {
			t.Errorf("ListInvoices(limit 5) returned %d invoices", len(page.Invoices))
		}
		for _, in := range page.Invoices {
			if in.ID == "" || in.Currency == "" || in.AmountDue < 0 {
				t.Errorf("ListInvoices invoice %+v: want ID, currency and a non-negative amount", in)
			}
		}
	})

	t.Run("NotFound", func(t T) {
		if o.stateless {
			t.Skip("stateless upstream")
		}
		_, err := p.GetSubscription(ctx, missing)
		wantCode(t, err, sdk.CodeNotFound, "GetSubscription unknown")
		_, err = p.PauseSubscription(ctx, missing)
		wantCode(t, err, sdk.CodeNotFound, "PauseSubscription unknown")
		_, err = p.CreateSubscription(ctx, sdk.CreateSubscriptionRequest{ExternalKey: o.prefix + "-nf", CustomerID: missing, PriceID: price.ID, Quantity: 1})
		wantCode(t, err, sdk.CodeNotFound, "CreateSubscription unknown customer")
		_, err = p.CreateSetupIntent(ctx, missing)
		wantCode(t, err, sdk.CodeNotFound, "CreateSetupIntent unknown customer")
	})

	t.Run("Webhook", func(t T) {
		_, err := p.ParseBillingWebhook(ctx, sdk.Webhook{Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"id":"evt_forged"}`)})
		wantCode(t, err, sdk.CodeUnauthenticated, "ParseBillingWebhook unsigned")
		if o.billingWebhook == nil {
			return
		}
		evs, err := p.ParseBillingWebhook(ctx, *o.billingWebhook)
		must(t, err, "ParseBillingWebhook signed")
		if len(evs) == 0 {
			t.Errorf("ParseBillingWebhook signed: no events")
		}
		tampered := *o.billingWebhook
		tampered.Body = append(append([]byte(nil), tampered.Body...), ' ', ' ')
		_, err = p.ParseBillingWebhook(ctx, tampered)
		wantCode(t, err, sdk.CodeUnauthenticated, "ParseBillingWebhook tampered")
	})

	t.Run("ConcurrentEnsure", func(t T) {
		ids := make([]string, o.parallel)
		parallel(t, o.parallel, func(i int) error {
			c, err := p.EnsureCustomer(ctx, sdk.EnsureCustomerRequest{ExternalKey: o.prefix + "-parallel", Name: "Parallel"})
			ids[i] = c.ID
			return err
		})
		o.stateful(func() { sameIDs(t, "EnsureCustomer", ids) })
	})
}
