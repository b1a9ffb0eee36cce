package stripeclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/dezky/platform/providers/stripe/stripeclient"
	"github.com/dezky/platform/providers/stripe/stripetest"
)

// harness is a client wired to a private stripe-mock through a recorder.
type harness struct {
	client *stripeclient.Client
	rec    *stripetest.Recorder
	mock   *stripetest.Mock
}

func mustHarness(tb testing.TB) *harness {
	tb.Helper()
	mock := stripetest.Start(tb)
	rec := stripetest.NewRecorder(tb, mock.URL)
	c, err := stripeclient.New(stripeclient.Config{
		APIKey:  mock.APIKey,
		BaseURL: rec.URL,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return &harness{client: c, rec: rec, mock: mock}
}

// one returns the only recorded request with method and path.
func (h *harness) one(t *testing.T, method, path string) stripetest.Request {
	t.Helper()
	reqs := h.rec.Find(method, path)
	if len(reqs) != 1 {
		t.Fatalf("%s %s requests = %d, want 1 (all: %s)", method, path, len(reqs), h.summary())
	}
	return reqs[0]
}

func (h *harness) none(t *testing.T, method, path string) {
	t.Helper()
	if reqs := h.rec.Find(method, path); len(reqs) != 0 {
		t.Fatalf("%s %s requests = %d, want 0", method, path, len(reqs))
	}
}

func (h *harness) summary() string {
	var parts []string
	for _, r := range h.rec.Requests() {
		parts = append(parts, r.Method+" "+r.Path)
	}
	return strings.Join(parts, ", ")
}

func wantParams(t *testing.T, req stripetest.Request, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if !req.Has(k) {
			t.Errorf("%s %s: parameter %s missing (form %v, query %v)", req.Method, req.Path, k, req.Form, req.Query)
			continue
		}
		if got := req.Param(k); got != v {
			t.Errorf("%s %s: %s = %q, want %q", req.Method, req.Path, k, got, v)
		}
	}
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want kind %v", err, kind)
	}
	var se *stripeclient.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %T, want *stripeclient.Error", err)
	}
}

// subscriptionJSON is a subscription object as the API would return it.
func subscriptionJSON(id, status, pause string, metadataKey string) string {
	pc := "null"
	if pause != "" {
		pc = fmt.Sprintf(`{"behavior":%q,"resumes_at":null}`, pause)
	}
	return fmt.Sprintf(`{"id":%q,"object":"subscription","status":%q,"customer":"cus_A","collection_method":"send_invoice",
"days_until_due":30,"cancel_at_period_end":false,"pause_collection":%s,"metadata":{"dezky_key":%q},
"items":{"object":"list","data":[{"id":"si_A","object":"subscription_item","quantity":4,
"price":{"id":"price_old","object":"price","currency":"eur","unit_amount":900,"recurring":{"interval":"month","interval_count":1}}}],"has_more":false}}`,
		id, status, pc, metadataKey)
}

func TestClient_Customers(t *testing.T) {
	h := mustHarness(t)
	ctx := context.Background()

	t.Run("CreateWhenSearchFindsNoMatch", func(t *testing.T) {
		h.rec.Reset()
		// stripe-mock's search fixture has no dezky_key metadata, so it must
		// not be mistaken for the tenant's customer.
		in := stripeclient.CustomerInput{ExternalKey: "tenant-42", Name: "Acme", Email: "billing@acme.test",
			Metadata: map[string]string{"tenant_slug": "acme"}}
		cust, created, err := h.client.EnsureCustomer(ctx, in)
		if err != nil {
			t.Fatalf("EnsureCustomer: %v", err)
		}
		if !created || cust.ID == "" {
			t.Fatalf("EnsureCustomer = %+v, created %v; want a created customer", cust, created)
		}
		search := h.one(t, http.MethodGet, "/v1/customers/search")
		wantParams(t, search, map[string]string{"query": "metadata['dezky_key']:'tenant-42'"})
		if got := search.Header.Get("Stripe-Version"); got != stripe.APIVersion {
			t.Errorf("Stripe-Version = %q, want %q", got, stripe.APIVersion)
		}
		create := h.one(t, http.MethodPost, "/v1/customers")
		wantParams(t, create, map[string]string{
			"name": "Acme", "email": "billing@acme.test",
			"metadata[dezky_key]": "tenant-42", "metadata[tenant_slug]": "acme",
		})
		key1 := create.Header.Get("Idempotency-Key")
		if key1 == "" {
			t.Fatal("create carried no Idempotency-Key")
		}

		h.rec.Reset()
		if _, _, err := h.client.EnsureCustomer(ctx, in); err != nil {
			t.Fatalf("second EnsureCustomer: %v", err)
		}
		if got := h.one(t, http.MethodPost, "/v1/customers").Header.Get("Idempotency-Key"); got != key1 {
			t.Errorf("retry Idempotency-Key = %q, want %q (same external key)", got, key1)
		}

		h.rec.Reset()
		in.ExternalKey = "tenant-43"
		if _, _, err := h.client.EnsureCustomer(ctx, in); err != nil {
			t.Fatalf("EnsureCustomer other key: %v", err)
		}
		if got := h.one(t, http.MethodPost, "/v1/customers").Header.Get("Idempotency-Key"); got == key1 {
			t.Errorf("different external keys share Idempotency-Key %q", got)
		}
	})

	t.Run("ExistingCustomerIsReusedAndUpdated", func(t *testing.T) {
		h.rec.Reset()
		h.rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			if r.Method == http.MethodGet && r.Path == "/v1/customers/search" {
				return stripetest.Reply{Status: 200, Body: `{"object":"search_result","has_more":false,"url":"/v1/customers/search","data":[
{"id":"cus_other","object":"customer","name":"Other","metadata":{"dezky_key":"tenant-420"}},
{"id":"cus_A","object":"customer","name":"Old name","email":"billing@acme.test","metadata":{"dezky_key":"tenant-42"},
 "invoice_settings":{"default_payment_method":"pm_1"}}]}`}, true
			}
			return stripetest.Reply{}, false
		})
		defer h.rec.Intercept(nil)

		cust, created, err := h.client.EnsureCustomer(ctx, stripeclient.CustomerInput{
			ExternalKey: "tenant-42", Name: "Acme", Email: "billing@acme.test"})
		if err != nil {
			t.Fatalf("EnsureCustomer: %v", err)
		}
		if created {
			t.Error("created = true for an existing customer")
		}
		h.none(t, http.MethodPost, "/v1/customers")
		upd := h.one(t, http.MethodPost, "/v1/customers/cus_A")
		wantParams(t, upd, map[string]string{"name": "Acme"})
		if upd.Has("email") {
			t.Errorf("unchanged email was sent: %q", upd.Param("email"))
		}
		if cust.ID != "cus_A" {
			t.Errorf("customer ID = %q, want cus_A", cust.ID)
		}

		h.rec.Reset()
		cust, _, err = h.client.EnsureCustomer(ctx, stripeclient.CustomerInput{ExternalKey: "tenant-42"})
		if err != nil {
			t.Fatalf("EnsureCustomer without changes: %v", err)
		}
		if len(h.rec.Find(http.MethodPost, "/v1/customers/cus_A")) != 0 {
			t.Error("customer updated although nothing changed")
		}
		if cust.DefaultPaymentMethodID != "pm_1" || cust.ExternalKey != "tenant-42" {
			t.Errorf("customer = %+v, want default pm_1 and key tenant-42", cust)
		}
	})

	t.Run("ReplaceDetails", func(t *testing.T) {
		// An existing customer with a country and two EU VAT ids: the
		// details replace name, email and country, keep the VAT id that
		// matches, delete the other, and leave other tax id types alone.
		h.rec.Reset()
		h.rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			switch {
			case r.Method == http.MethodGet && r.Path == "/v1/customers/search":
				return stripetest.Reply{Status: 200, Body: `{"object":"search_result","has_more":false,"url":"/v1/customers/search","data":[
{"id":"cus_D","object":"customer","name":"Acme","email":"old@acme.test","address":{"country":"AT"},"metadata":{"dezky_key":"tenant-7"}}]}`}, true
			case r.Method == http.MethodGet && r.Path == "/v1/customers/cus_D/tax_ids":
				return stripetest.Reply{Status: 200, Body: `{"object":"list","has_more":false,"url":"/v1/customers/cus_D/tax_ids","data":[
{"id":"txi_keep","object":"tax_id","type":"eu_vat","value":"DE123456789"},
{"id":"txi_old","object":"tax_id","type":"eu_vat","value":"ATU12345678"},
{"id":"txi_gb","object":"tax_id","type":"gb_vat","value":"GB123456789"}]}`}, true
			}
			return stripetest.Reply{}, false
		})
		defer h.rec.Intercept(nil)
		in := stripeclient.CustomerInput{ExternalKey: "tenant-7", Name: "Acme", Email: "billing@acme.test", Country: "DE", VATID: "DE123456789", ReplaceDetails: true}
		if _, _, err := h.client.EnsureCustomer(ctx, in); err != nil {
			t.Fatalf("EnsureCustomer: %v", err)
		}
		upd := h.one(t, http.MethodPost, "/v1/customers/cus_D")
		wantParams(t, upd, map[string]string{"email": "billing@acme.test", "address[country]": "DE"})
		if upd.Has("name") {
			t.Errorf("unchanged name was sent: %q", upd.Param("name"))
		}
		h.one(t, http.MethodDelete, "/v1/customers/cus_D/tax_ids/txi_old")
		h.none(t, http.MethodDelete, "/v1/customers/cus_D/tax_ids/txi_keep")
		h.none(t, http.MethodDelete, "/v1/customers/cus_D/tax_ids/txi_gb")
		h.none(t, http.MethodPost, "/v1/customers/cus_D/tax_ids")

		// Blank details unset: email and address are sent empty, every EU
		// VAT id is deleted.
		h.rec.Reset()
		in = stripeclient.CustomerInput{ExternalKey: "tenant-7", Name: "Acme", ReplaceDetails: true}
		if _, _, err := h.client.EnsureCustomer(ctx, in); err != nil {
			t.Fatalf("EnsureCustomer unsetting: %v", err)
		}
		upd = h.one(t, http.MethodPost, "/v1/customers/cus_D")
		if !upd.Has("email") || upd.Param("email") != "" || !upd.Has("address") || upd.Param("address") != "" {
			t.Errorf("unset request: email %q (sent %v), address %q (sent %v)", upd.Param("email"), upd.Has("email"), upd.Param("address"), upd.Has("address"))
		}
		h.one(t, http.MethodDelete, "/v1/customers/cus_D/tax_ids/txi_keep")
		h.one(t, http.MethodDelete, "/v1/customers/cus_D/tax_ids/txi_old")

		// Without ReplaceDetails (an older host), empty fields are left
		// alone and tax ids are not touched.
		h.rec.Reset()
		if _, _, err := h.client.EnsureCustomer(ctx, stripeclient.CustomerInput{ExternalKey: "tenant-7", Name: "Acme"}); err != nil {
			t.Fatalf("EnsureCustomer: %v", err)
		}
		h.none(t, http.MethodPost, "/v1/customers/cus_D")
		h.none(t, http.MethodGet, "/v1/customers/cus_D/tax_ids")
	})

	t.Run("NewCustomerWithDetails", func(t *testing.T) {
		h.rec.Reset()
		in := stripeclient.CustomerInput{ExternalKey: "tenant-8", Name: "Globex", Country: "NL", VATID: "NL123456789B01", ReplaceDetails: true}
		if _, _, err := h.client.EnsureCustomer(ctx, in); err != nil {
			t.Fatalf("EnsureCustomer: %v", err)
		}
		wantParams(t, h.one(t, http.MethodPost, "/v1/customers"), map[string]string{
			"name": "Globex", "address[country]": "NL", "tax_id_data[0][type]": "eu_vat", "tax_id_data[0][value]": "NL123456789B01"})
	})

	t.Run("GetPaymentMethod", func(t *testing.T) {
		h.rec.Reset()
		card, err := h.client.GetPaymentMethod(ctx, "cus_A", "pm_card_visa")
		if err != nil {
			t.Fatalf("GetPaymentMethod: %v", err)
		}
		h.one(t, http.MethodGet, "/v1/customers/cus_A/payment_methods/pm_card_visa")
		if card.PaymentMethodID != "pm_card_visa" || card.Brand != "visa" || card.Last4 != "4242" || card.ExpMonth < 1 || card.ExpYear < 2000 {
			t.Errorf("card = %+v", card)
		}
		h.rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			return stripetest.Reply{Status: 404, Body: `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such PaymentMethod"}}`}, true
		})
		defer h.rec.Intercept(nil)
		if _, err := h.client.GetPaymentMethod(ctx, "cus_A", "pm_other"); !errors.Is(err, stripeclient.ErrNotFound) {
			t.Errorf("another customer's payment method: %v, want ErrNotFound", err)
		}
		if _, err := h.client.GetPaymentMethod(ctx, "cus_A", "pm/../x"); !errors.Is(err, stripeclient.ErrInvalid) {
			t.Errorf("a path as payment method id: %v, want ErrInvalid", err)
		}
	})

	t.Run("InvalidExternalKey", func(t *testing.T) {
		h.rec.Reset()
		for _, key := range []string{"", "it's", strings.Repeat("k", 201), "a b"} {
			_, _, err := h.client.EnsureCustomer(ctx, stripeclient.CustomerInput{ExternalKey: key})
			wantKind(t, err, stripeclient.ErrInvalid)
		}
		if n := len(h.rec.Requests()); n != 0 {
			t.Errorf("invalid input sent %d requests", n)
		}
	})

	t.Run("SetupIntentAndDefaultPaymentMethod", func(t *testing.T) {
		h.rec.Reset()
		si, err := h.client.CreateSetupIntent(ctx, "cus_A")
		if err != nil {
			t.Fatalf("CreateSetupIntent: %v", err)
		}
		if si.ID == "" || si.ClientSecret == "" {
			t.Errorf("setup intent = %+v, want ID and client secret", si)
		}
		wantParams(t, h.one(t, http.MethodPost, "/v1/setup_intents"), map[string]string{
			"customer": "cus_A", "usage": "off_session", "automatic_payment_methods[enabled]": "true",
		})

		if _, err := h.client.SetDefaultPaymentMethod(ctx, "cus_A", "pm_card"); err != nil {
			t.Fatalf("SetDefaultPaymentMethod: %v", err)
		}
		wantParams(t, h.one(t, http.MethodPost, "/v1/customers/cus_A"), map[string]string{
			"invoice_settings[default_payment_method]": "pm_card",
		})
	})

	t.Run("ListInvoices", func(t *testing.T) {
		h.rec.Reset()
		page, err := h.client.ListInvoices(ctx, stripeclient.InvoiceQuery{CustomerID: "cus_A", SubscriptionID: "sub_A", Status: "paid", Limit: 5})
		if err != nil {
			t.Fatalf("ListInvoices: %v", err)
		}
		if len(page.Invoices) == 0 || page.Invoices[0].ID == "" {
			t.Fatalf("invoices = %+v, want the fixture invoice", page.Invoices)
		}
		wantParams(t, h.one(t, http.MethodGet, "/v1/invoices"), map[string]string{
			"customer": "cus_A", "subscription": "sub_A", "status": "paid", "limit": "5",
		})
		_, err = h.client.ListInvoices(ctx, stripeclient.InvoiceQuery{CustomerID: "cus_A", Status: "bogus"})
		wantKind(t, err, stripeclient.ErrInvalid)
	})
}

func TestClient_Catalog(t *testing.T) {
	h := mustHarness(t)
	ctx := context.Background()

	t.Run("ProductExistsAndIsRenamed", func(t *testing.T) {
		h.rec.Reset()
		// stripe-mock reflects the ID and answers with its fixture name.
		p, created, err := h.client.EnsureProduct(ctx, stripeclient.ProductInput{ID: "dezky-plan-business", Name: "Business"})
		if err != nil {
			t.Fatalf("EnsureProduct: %v", err)
		}
		if created || p.ID != "dezky-plan-business" {
			t.Errorf("EnsureProduct = %+v, created %v; want existing dezky-plan-business", p, created)
		}
		wantParams(t, h.one(t, http.MethodPost, "/v1/products/dezky-plan-business"), map[string]string{"name": "Business"})
		h.none(t, http.MethodPost, "/v1/products")
	})

	t.Run("ProductMissingIsCreated", func(t *testing.T) {
		h.rec.Reset()
		h.rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			if r.Method == http.MethodGet && r.Path == "/v1/products/dezky-plan-team" {
				return stripetest.Reply{Status: 404, Body: `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such product: 'dezky-plan-team'"}}`}, true
			}
			return stripetest.Reply{}, false
		})
		defer h.rec.Intercept(nil)
		_, created, err := h.client.EnsureProduct(ctx, stripeclient.ProductInput{ID: "dezky-plan-team", Name: "Team", Description: "Seats"})
		if err != nil {
			t.Fatalf("EnsureProduct: %v", err)
		}
		if !created {
			t.Error("created = false for a missing product")
		}
		req := h.one(t, http.MethodPost, "/v1/products")
		wantParams(t, req, map[string]string{"id": "dezky-plan-team", "name": "Team", "description": "Seats", "metadata[dezky_key]": "dezky-plan-team"})
		if req.Header.Get("Idempotency-Key") == "" {
			t.Error("product create carried no Idempotency-Key")
		}
	})

	in := stripeclient.PriceInput{
		ProductID: "dezky-plan-business", LookupKey: "dezky-plan-business:eur:month",
		Currency: "EUR", UnitAmount: 1200, Interval: stripeclient.IntervalMonth,
	}

	t.Run("PriceCreatedForNewLookupKey", func(t *testing.T) {
		h.rec.Reset()
		res, err := h.client.EnsurePrice(ctx, in)
		if err != nil {
			t.Fatalf("EnsurePrice: %v", err)
		}
		if !res.Created || res.ReplacedPriceID != "" || res.Price.ID == "" {
			t.Errorf("EnsurePrice = %+v, want a new price replacing nothing", res)
		}
		wantParams(t, h.one(t, http.MethodGet, "/v1/prices"), map[string]string{"lookup_keys[0]": in.LookupKey})
		wantParams(t, h.one(t, http.MethodPost, "/v1/prices"), map[string]string{
			"product": "dezky-plan-business", "currency": "eur", "unit_amount": "1200",
			"lookup_key": in.LookupKey, "transfer_lookup_key": "false",
			"recurring[interval]": "month", "recurring[interval_count]": "1",
			"metadata[dezky_key]": in.LookupKey,
		})
	})

	existing := func(amount int64) stripetest.Interceptor {
		return func(r stripetest.Request) (stripetest.Reply, bool) {
			if r.Method != http.MethodGet || r.Path != "/v1/prices" {
				return stripetest.Reply{}, false
			}
			return stripetest.Reply{Status: 200, Body: fmt.Sprintf(`{"object":"list","has_more":false,"url":"/v1/prices","data":[
{"id":"price_current","object":"price","active":true,"currency":"eur","unit_amount":%d,"lookup_key":%q,
 "product":{"id":"dezky-plan-business","object":"product"},"recurring":{"interval":"month","interval_count":1}}]}`, amount, in.LookupKey)}, true
		}
	}

	t.Run("PriceUnchangedIsReused", func(t *testing.T) {
		h.rec.Reset()
		h.rec.Intercept(existing(1200))
		defer h.rec.Intercept(nil)
		res, err := h.client.EnsurePrice(ctx, in)
		if err != nil {
			t.Fatalf("EnsurePrice: %v", err)
		}
		if res.Created || res.Price.ID != "price_current" {
			t.Errorf("EnsurePrice = %+v, want price_current reused", res)
		}
		h.none(t, http.MethodPost, "/v1/prices")
	})

	t.Run("PriceAmountChangeMintsNewPrice", func(t *testing.T) {
		h.rec.Reset()
		h.rec.Intercept(existing(900))
		defer h.rec.Intercept(nil)
		res, err := h.client.EnsurePrice(ctx, in)
		if err != nil {
			t.Fatalf("EnsurePrice: %v", err)
		}
		if !res.Created || res.ReplacedPriceID != "price_current" {
			t.Errorf("EnsurePrice = %+v, want new price replacing price_current", res)
		}
		create := h.one(t, http.MethodPost, "/v1/prices")
		wantParams(t, create, map[string]string{"unit_amount": "1200", "transfer_lookup_key": "true"})

		// Going back to the first amount later must not replay the earlier
		// creation: the replaced price is part of the idempotency key.
		h.rec.Reset()
		h.rec.Intercept(existing(1500))
		if _, err := h.client.EnsurePrice(ctx, in); err != nil {
			t.Fatalf("EnsurePrice: %v", err)
		}
		first := create.Header.Get("Idempotency-Key")
		h.rec.Intercept(existing(900))
		h.rec.Reset()
		if _, err := h.client.EnsurePrice(ctx, in); err != nil {
			t.Fatalf("EnsurePrice: %v", err)
		}
		if got := h.one(t, http.MethodPost, "/v1/prices").Header.Get("Idempotency-Key"); got != first {
			t.Errorf("same transition Idempotency-Key = %q, want %q", got, first)
		}
	})

	t.Run("PriceInputValidation", func(t *testing.T) {
		bad := []stripeclient.PriceInput{
			{ProductID: "p", LookupKey: "k", Currency: "euro", UnitAmount: 1, Interval: stripeclient.IntervalMonth},
			{ProductID: "p", LookupKey: "k", Currency: "eur", UnitAmount: -1, Interval: stripeclient.IntervalMonth},
			{ProductID: "p", LookupKey: "k", Currency: "eur", UnitAmount: 1, Interval: "fortnight"},
			{ProductID: "p/x", LookupKey: "k", Currency: "eur", UnitAmount: 1, Interval: stripeclient.IntervalMonth},
		}
		for _, b := range bad {
			_, err := h.client.EnsurePrice(ctx, b)
			wantKind(t, err, stripeclient.ErrInvalid)
		}
	})
}

func TestClient_Subscriptions(t *testing.T) {
	h := mustHarness(t)
	ctx := context.Background()

	t.Run("CreateSendInvoice", func(t *testing.T) {
		h.rec.Reset()
		sub, created, err := h.client.CreateSubscription(ctx, stripeclient.SubscriptionInput{
			ExternalKey: "tenant-42", CustomerID: "cus_A", PriceID: "price_new", Quantity: 3,
		})
		if err != nil {
			t.Fatalf("CreateSubscription: %v", err)
		}
		if !created || sub.ID == "" {
			t.Errorf("CreateSubscription = %+v, created %v", sub, created)
		}
		wantParams(t, h.one(t, http.MethodGet, "/v1/subscriptions/search"), map[string]string{"query": "metadata['dezky_key']:'tenant-42'"})
		req := h.one(t, http.MethodPost, "/v1/subscriptions")
		wantParams(t, req, map[string]string{
			"customer": "cus_A", "collection_method": "send_invoice", "days_until_due": "30",
			"items[0][price]": "price_new", "items[0][quantity]": "3", "metadata[dezky_key]": "tenant-42",
		})
		if req.Header.Get("Idempotency-Key") == "" {
			t.Error("subscription create carried no Idempotency-Key")
		}
	})

	t.Run("CreateFindsLiveSubscription", func(t *testing.T) {
		h.rec.Reset()
		h.rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			if r.Path == "/v1/subscriptions/search" {
				return stripetest.Reply{Status: 200, Body: `{"object":"search_result","has_more":false,"url":"/v1/subscriptions/search","data":[` +
					subscriptionJSON("sub_old", "canceled", "", "tenant-42") + "," + subscriptionJSON("sub_live", "active", "", "tenant-42") + `]}`}, true
			}
			return stripetest.Reply{}, false
		})
		defer h.rec.Intercept(nil)
		sub, created, err := h.client.CreateSubscription(ctx, stripeclient.SubscriptionInput{
			ExternalKey: "tenant-42", CustomerID: "cus_A", PriceID: "price_new", Quantity: 3, DaysUntilDue: 14,
		})
		if err != nil {
			t.Fatalf("CreateSubscription: %v", err)
		}
		if created || sub.ID != "sub_live" || sub.Quantity != 4 || sub.PriceID != "price_old" || sub.ItemID != "si_A" {
			t.Errorf("CreateSubscription = %+v, created %v; want existing sub_live", sub, created)
		}
		h.none(t, http.MethodPost, "/v1/subscriptions")
	})

	t.Run("UpdateQuantity", func(t *testing.T) {
		h.rec.Reset()
		// The fixture subscription has one item with quantity 1.
		if _, err := h.client.UpdateQuantity(ctx, "sub_A", 5, stripeclient.ProrationNone); err != nil {
			t.Fatalf("UpdateQuantity: %v", err)
		}
		req := h.one(t, http.MethodPost, "/v1/subscriptions/sub_A")
		wantParams(t, req, map[string]string{"items[0][quantity]": "5", "proration_behavior": "none"})
		if req.Param("items[0][id]") == "" {
			t.Error("item ID not sent")
		}
		_, err := h.client.UpdateQuantity(ctx, "sub_A", 0, stripeclient.ProrationNone)
		wantKind(t, err, stripeclient.ErrInvalid)
	})

	t.Run("UpdateQuantityUnchangedIsNoop", func(t *testing.T) {
		h.rec.Reset()
		h.rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			if r.Method == http.MethodGet && r.Path == "/v1/subscriptions/sub_A" {
				return stripetest.Reply{Status: 200, Body: subscriptionJSON("sub_A", "active", "", "tenant-42")}, true
			}
			return stripetest.Reply{}, false
		})
		defer h.rec.Intercept(nil)
		if _, err := h.client.UpdateQuantity(ctx, "sub_A", 4, stripeclient.ProrationCreate); err != nil {
			t.Fatalf("UpdateQuantity: %v", err)
		}
		h.none(t, http.MethodPost, "/v1/subscriptions/sub_A")
	})

	t.Run("MovePriceWithoutProration", func(t *testing.T) {
		h.rec.Reset()
		h.rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			if r.Method == http.MethodGet && r.Path == "/v1/subscriptions/sub_A" {
				return stripetest.Reply{Status: 200, Body: subscriptionJSON("sub_A", "active", "", "tenant-42")}, true
			}
			return stripetest.Reply{}, false
		})
		defer h.rec.Intercept(nil)
		if _, err := h.client.MovePrice(ctx, "sub_A", "price_new"); err != nil {
			t.Fatalf("MovePrice: %v", err)
		}
		wantParams(t, h.one(t, http.MethodPost, "/v1/subscriptions/sub_A"), map[string]string{
			"items[0][id]": "si_A", "items[0][price]": "price_new", "items[0][quantity]": "4", "proration_behavior": "none",
		})
		h.rec.Reset()
		if _, err := h.client.MovePrice(ctx, "sub_A", "price_old"); err != nil {
			t.Fatalf("MovePrice to current price: %v", err)
		}
		h.none(t, http.MethodPost, "/v1/subscriptions/sub_A")
	})

	t.Run("PauseAndResume", func(t *testing.T) {
		h.rec.Reset()
		if _, err := h.client.Pause(ctx, "sub_A", stripeclient.PauseVoid); err != nil {
			t.Fatalf("Pause: %v", err)
		}
		wantParams(t, h.one(t, http.MethodPost, "/v1/subscriptions/sub_A"), map[string]string{"pause_collection[behavior]": "void"})

		// The fixture is not paused, so Resume has nothing to do.
		h.rec.Reset()
		if _, err := h.client.Resume(ctx, "sub_A"); err != nil {
			t.Fatalf("Resume: %v", err)
		}
		h.none(t, http.MethodPost, "/v1/subscriptions/sub_A")

		h.rec.Reset()
		h.rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			if r.Method == http.MethodGet && r.Path == "/v1/subscriptions/sub_A" {
				return stripetest.Reply{Status: 200, Body: subscriptionJSON("sub_A", "active", "void", "tenant-42")}, true
			}
			return stripetest.Reply{}, false
		})
		defer h.rec.Intercept(nil)
		if _, err := h.client.Pause(ctx, "sub_A", stripeclient.PauseVoid); err != nil {
			t.Fatalf("Pause when paused: %v", err)
		}
		h.none(t, http.MethodPost, "/v1/subscriptions/sub_A")
		if _, err := h.client.Resume(ctx, "sub_A"); err != nil {
			t.Fatalf("Resume: %v", err)
		}
		wantParams(t, h.one(t, http.MethodPost, "/v1/subscriptions/sub_A"), map[string]string{"pause_collection": ""})

		_, err := h.client.Pause(ctx, "sub_A", "forever")
		wantKind(t, err, stripeclient.ErrInvalid)
	})

	t.Run("Cancel", func(t *testing.T) {
		h.rec.Reset()
		if _, err := h.client.Cancel(ctx, "sub_A", stripeclient.CancelOptions{InvoiceNow: true, Prorate: true}); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		wantParams(t, h.one(t, http.MethodDelete, "/v1/subscriptions/sub_A"), map[string]string{"invoice_now": "true", "prorate": "true"})

		h.rec.Reset()
		if _, err := h.client.Cancel(ctx, "sub_A", stripeclient.CancelOptions{AtPeriodEnd: true}); err != nil {
			t.Fatalf("Cancel at period end: %v", err)
		}
		wantParams(t, h.one(t, http.MethodPost, "/v1/subscriptions/sub_A"), map[string]string{"cancel_at_period_end": "true"})
		h.none(t, http.MethodDelete, "/v1/subscriptions/sub_A")

		h.rec.Reset()
		h.rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			if r.Method == http.MethodGet && r.Path == "/v1/subscriptions/sub_A" {
				return stripetest.Reply{Status: 200, Body: subscriptionJSON("sub_A", "canceled", "", "tenant-42")}, true
			}
			return stripetest.Reply{}, false
		})
		defer h.rec.Intercept(nil)
		sub, err := h.client.Cancel(ctx, "sub_A", stripeclient.CancelOptions{})
		if err != nil {
			t.Fatalf("Cancel of canceled subscription: %v", err)
		}
		if sub.Status != "canceled" {
			t.Errorf("status = %q, want canceled", sub.Status)
		}
		h.none(t, http.MethodDelete, "/v1/subscriptions/sub_A")

		_, err = h.client.Pause(ctx, "sub_A", stripeclient.PauseVoid)
		wantKind(t, err, stripeclient.ErrConflict)
	})
}

func TestClient_ErrorMapping(t *testing.T) {
	h := mustHarness(t)
	ctx := context.Background()

	t.Run("RejectedKeyIsUnavailableAndNotEchoed", func(t *testing.T) {
		// stripe-mock rejects keys that do not split into three parts.
		const badKey = "sk_test_not_valid"
		c, err := stripeclient.New(stripeclient.Config{APIKey: badKey, BaseURL: h.mock.URL,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		_, err = c.GetCustomer(ctx, "cus_A")
		wantKind(t, err, stripeclient.ErrUnavailable)
		var se *stripeclient.Error
		errors.As(err, &se)
		if se.HTTPStatus != http.StatusUnauthorized {
			t.Errorf("HTTPStatus = %d, want 401", se.HTTPStatus)
		}
		if strings.Contains(err.Error(), badKey) || strings.Contains(err.Error(), "not_valid") {
			t.Errorf("error message leaks the key: %q", err)
		}
	})

	cases := []struct {
		name   string
		status int
		body   string
		kind   error
	}{
		{"NotFound", 404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such customer: 'cus_A'"}}`, stripeclient.ErrNotFound},
		{"IdempotencyConflict", 400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`, stripeclient.ErrConflict},
		{"LockConflict", 409, `{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"busy"}}`, stripeclient.ErrConflict},
		{"Invalid", 400, `{"error":{"type":"invalid_request_error","param":"email","message":"Invalid email address: x"}}`, stripeclient.ErrInvalid},
		{"RateLimited", 429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`, stripeclient.ErrUnavailable},
		{"ServerError", 500, `{"error":{"type":"api_error","message":"Something went wrong"}}`, stripeclient.ErrUnavailable},
		{"NotJSON", 502, `<html>bad gateway</html>`, stripeclient.ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.rec.Intercept(func(stripetest.Request) (stripetest.Reply, bool) {
				return stripetest.Reply{Status: tc.status, Body: tc.body}, true
			})
			defer h.rec.Intercept(nil)
			_, err := h.client.GetCustomer(ctx, "cus_A")
			wantKind(t, err, tc.kind)
			if !strings.HasPrefix(err.Error(), "stripe: GetCustomer: ") {
				t.Errorf("error %q lacks operation context", err)
			}
		})
	}

	t.Run("SecretsAreRedacted", func(t *testing.T) {
		h.rec.Intercept(func(stripetest.Request) (stripetest.Reply, bool) {
			return stripetest.Reply{Status: 400, Body: `{"error":{"type":"invalid_request_error","message":"key sk_live_abcDEF123 and whsec_Zm9vYmFy and seti_123_secret_456 rejected"}}`}, true
		})
		defer h.rec.Intercept(nil)
		_, err := h.client.GetCustomer(ctx, "cus_A")
		wantKind(t, err, stripeclient.ErrInvalid)
		for _, secret := range []string{"sk_live_abcDEF123", "whsec_Zm9vYmFy", "seti_123_secret_456"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains %q", err, secret)
			}
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := h.client.GetCustomer(cctx, "cus_A")
		wantKind(t, err, stripeclient.ErrUnavailable)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want it to wrap context.Canceled", err)
		}
	})

	t.Run("Unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		c, err := stripeclient.New(stripeclient.Config{APIKey: stripetest.APIKey, BaseURL: url,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		_, err = c.GetCustomer(ctx, "cus_A")
		wantKind(t, err, stripeclient.ErrUnavailable)
	})

	t.Run("ConfigValidation", func(t *testing.T) {
		for _, cfg := range []stripeclient.Config{
			{},
			{APIKey: "sk_test_x", BaseURL: "ftp://example.invalid"},
			{APIKey: "sk_test_x", BaseURL: "not a url"},
			{APIKey: "sk_test_x", MaxNetworkRetries: -1},
		} {
			_, err := stripeclient.New(cfg)
			wantKind(t, err, stripeclient.ErrInvalid)
			if cfg.APIKey != "" && strings.Contains(err.Error(), cfg.APIKey) {
				t.Errorf("config error %q contains the key", err)
			}
		}
	})
}
