// Command dezky-provider-stripe is the Dezky billing provider plugin. It
// serves the sdk.Billing capability with stripeclient (Stripe API version
// 2023-10-16).
//
// Settings: "api_base_url" (optional; Stripe's API by default, a stripe-mock
// address in tests), "pause_behavior" (keep_as_draft, mark_uncollectible or
// void; default void), "proration_behavior" for quantity changes
// (create_prorations, none or always_invoice; default create_prorations),
// "publishable_key" (pk_..., handed to browsers with a setup intent for
// Stripe Elements; it is public). Secrets: "api_key" (required), "webhook_secret" (the endpoint signing
// secret) and optionally "webhook_secret_previous" during secret rotation.
//
// EnsurePrice ensures the product (ID = ProductKey) and the price whose
// lookup key is "<ProductKey>:<currency>:<interval>"; a new amount mints a
// new price and moves the lookup key onto it.
package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/stripe/stripeclient"
)

const (
	providerName    = "stripe"
	providerVersion = "1.0.0"
)

func main() { sdk.Serve(&provider{}) }

type provider struct{ conf sdk.Configured[config] }

// config is what Configure sets up: the API client, the webhook verifier
// and the settings.
type config struct {
	*stripeclient.Client
	verifier  *stripeclient.WebhookVerifier
	pause     stripeclient.PauseBehavior
	proration stripeclient.Proration
	// publishableKey is handed to browsers with a setup intent.
	publishableKey string
}

var (
	_ sdk.Provider       = (*provider)(nil)
	_ sdk.Billing        = (*provider)(nil)
	_ sdk.PaymentMethods = (*provider)(nil)
)

func (p *provider) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: providerName, Version: providerVersion, Capabilities: []sdk.Capability{sdk.CapabilityBilling}, ProtocolVersion: sdk.ProtocolVersion}, nil
}

func (p *provider) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	c, err := stripeclient.New(stripeclient.Config{
		APIKey:  req.Secrets["api_key"],
		BaseURL: req.Settings["api_base_url"],
		Logger:  sdk.Logger(),
	})
	if err != nil {
		return toSDK(err)
	}
	pause := stripeclient.PauseBehavior(req.Settings["pause_behavior"])
	switch pause {
	case "":
		pause = stripeclient.PauseVoid
	case stripeclient.PauseVoid, stripeclient.PauseKeepAsDraft, stripeclient.PauseMarkUncollectible:
	default:
		return sdk.Invalid("setting pause_behavior %q must be keep_as_draft, mark_uncollectible or void", pause)
	}
	proration := stripeclient.Proration(req.Settings["proration_behavior"])
	switch proration {
	case "":
		proration = stripeclient.ProrationCreate
	case stripeclient.ProrationCreate, stripeclient.ProrationNone, stripeclient.ProrationAlwaysInvoice:
	default:
		return sdk.Invalid("setting proration_behavior %q must be create_prorations, none or always_invoice", proration)
	}
	v := &stripeclient.WebhookVerifier{}
	for _, k := range []string{"webhook_secret", "webhook_secret_previous"} {
		if s := req.Secrets[k]; s != "" {
			v.Secrets = append(v.Secrets, s)
		}
	}
	pk := req.Settings["publishable_key"]
	if pk != "" && !strings.HasPrefix(pk, "pk_") {
		return sdk.Invalid("setting publishable_key must be a Stripe publishable key (pk_...)")
	}
	p.conf.Set(config{Client: c, verifier: v, pause: pause, proration: proration, publishableKey: pk})
	return nil
}

func (p *provider) Health(ctx context.Context) (sdk.HealthStatus, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.HealthStatus{Message: err.Error()}, nil
	}
	if err := c.Ping(ctx); err != nil {
		return sdk.HealthStatus{Message: err.Error()}, nil
	}
	return sdk.HealthStatus{Healthy: true, Message: "stripe reachable"}, nil
}

func (p *provider) EnsureCustomer(ctx context.Context, req sdk.EnsureCustomerRequest) (sdk.Customer, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Customer{}, err
	}
	cu, _, err := c.EnsureCustomer(ctx, stripeclient.CustomerInput{
		ExternalKey: req.ExternalKey, Name: req.Name, Email: req.Email, Metadata: req.Metadata,
		ReplaceDetails: req.ReplaceDetails, Country: req.Country, VATID: req.VATID,
	})
	if err != nil {
		return sdk.Customer{}, toSDK(err)
	}
	return sdk.Customer{ID: cu.ID, ExternalKey: req.ExternalKey, Name: cu.Name, Email: cu.Email, DefaultPaymentMethod: cu.DefaultPaymentMethodID}, nil
}

func (p *provider) EnsurePrice(ctx context.Context, req sdk.EnsurePriceRequest) (sdk.Price, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Price{}, err
	}
	interval := stripeclient.Interval(req.Interval)
	if interval != stripeclient.IntervalMonth && interval != stripeclient.IntervalYear {
		return sdk.Price{}, sdk.Invalid("interval %q must be month or year", req.Interval)
	}
	if req.UnitAmount < 0 {
		return sdk.Price{}, sdk.Invalid("unit amount must not be negative")
	}
	name := req.ProductName
	if name == "" {
		name = req.ProductKey
	}
	prod, _, err := c.EnsureProduct(ctx, stripeclient.ProductInput{ID: req.ProductKey, Name: name})
	if err != nil {
		return sdk.Price{}, toSDK(err)
	}
	res, err := c.EnsurePrice(ctx, stripeclient.PriceInput{
		ProductID: prod.ID, LookupKey: req.ProductKey + ":" + req.Currency + ":" + string(req.Interval),
		Currency: req.Currency, UnitAmount: req.UnitAmount, Interval: interval,
	})
	if err != nil {
		return sdk.Price{}, toSDK(err)
	}
	return sdk.Price{
		ID: res.Price.ID, ProductID: prod.ID, ProductKey: req.ProductKey,
		Currency: res.Price.Currency, UnitAmount: res.Price.UnitAmount, Interval: sdk.Interval(res.Price.Interval),
	}, nil
}

func (p *provider) CreateSubscription(ctx context.Context, req sdk.CreateSubscriptionRequest) (sdk.Subscription, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Subscription{}, err
	}
	s, _, err := c.CreateSubscription(ctx, stripeclient.SubscriptionInput{
		ExternalKey: req.ExternalKey, CustomerID: req.CustomerID, PriceID: req.PriceID, Quantity: req.Quantity,
		DaysUntilDue: int64(req.DaysUntilDue), ChargeAutomatically: !req.SendInvoice,
	})
	return toSDKSub(s), toSDK(err)
}

func (p *provider) GetSubscription(ctx context.Context, id string) (sdk.Subscription, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Subscription{}, err
	}
	s, err := c.GetSubscription(ctx, id)
	return toSDKSub(s), toSDK(err)
}

func (p *provider) UpdateSubscriptionQuantity(ctx context.Context, id string, quantity int64) (sdk.Subscription, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Subscription{}, err
	}
	s, err := c.UpdateQuantity(ctx, id, quantity, c.proration)
	return toSDKSub(s), toSDK(err)
}

func (p *provider) PauseSubscription(ctx context.Context, id string) (sdk.Subscription, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Subscription{}, err
	}
	s, err := c.Pause(ctx, id, c.pause)
	return toSDKSub(s), toSDK(err)
}

func (p *provider) ResumeSubscription(ctx context.Context, id string) (sdk.Subscription, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Subscription{}, err
	}
	s, err := c.Resume(ctx, id)
	return toSDKSub(s), toSDK(err)
}

func (p *provider) CancelSubscription(ctx context.Context, id string) (sdk.Subscription, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Subscription{}, err
	}
	s, err := c.Cancel(ctx, id, stripeclient.CancelOptions{})
	return toSDKSub(s), toSDK(err)
}

func (p *provider) MoveSubscriptionPrice(ctx context.Context, id, priceID string) (sdk.Subscription, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Subscription{}, err
	}
	s, err := c.MovePrice(ctx, id, priceID)
	return toSDKSub(s), toSDK(err)
}

func (p *provider) CreateSetupIntent(ctx context.Context, customerID string) (sdk.SetupIntent, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.SetupIntent{}, err
	}
	si, err := c.CreateSetupIntent(ctx, customerID)
	if err != nil {
		return sdk.SetupIntent{}, toSDK(err)
	}
	return sdk.SetupIntent{ID: si.ID, ClientSecret: si.ClientSecret, PublishableKey: c.publishableKey}, nil
}

func (p *provider) SetDefaultPaymentMethod(ctx context.Context, customerID, paymentMethodID string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	_, err = c.SetDefaultPaymentMethod(ctx, customerID, paymentMethodID)
	return toSDK(err)
}

func (p *provider) ListInvoices(ctx context.Context, req sdk.ListInvoicesRequest) (sdk.InvoicePage, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.InvoicePage{}, err
	}
	page, err := c.ListInvoices(ctx, stripeclient.InvoiceQuery{CustomerID: req.CustomerID, Limit: int64(req.Limit), StartingAfter: req.Cursor})
	if err != nil {
		return sdk.InvoicePage{}, toSDK(err)
	}
	out := sdk.InvoicePage{Invoices: make([]sdk.Invoice, 0, len(page.Invoices))}
	for _, in := range page.Invoices {
		out.Invoices = append(out.Invoices, sdk.Invoice{
			ID: in.ID, Number: in.Number, Status: in.Status, Currency: in.Currency,
			AmountDue: in.AmountDue, AmountPaid: in.AmountPaid, Created: in.Created,
			HostedURL: in.HostedInvoiceURL, PDFURL: in.PDFURL,
			Total: in.Total, PeriodStart: in.PeriodStart, PeriodEnd: in.PeriodEnd,
		})
	}
	if page.HasMore && len(page.Invoices) > 0 {
		out.NextCursor = page.Invoices[len(page.Invoices)-1].ID
	}
	return out, nil
}

func (p *provider) GetPaymentMethod(ctx context.Context, customerID, paymentMethodID string) (sdk.Card, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Card{}, err
	}
	card, err := c.GetPaymentMethod(ctx, customerID, paymentMethodID)
	if err != nil {
		return sdk.Card{}, toSDK(err)
	}
	return sdk.Card{PaymentMethodID: card.PaymentMethodID, Brand: card.Brand, Last4: card.Last4,
		ExpMonth: int(card.ExpMonth), ExpYear: int(card.ExpYear)}, nil
}

func (p *provider) ParseBillingWebhook(_ context.Context, hook sdk.Webhook) ([]sdk.BillingEvent, error) {
	c, err := p.conf.Get()
	if err != nil {
		return nil, err
	}
	ev, err := c.verifier.Verify(hook.Body, hook.Header.Get(stripeclient.SignatureHeader))
	if err != nil {
		return nil, toSDK(err)
	}
	data := map[string]string{}
	set := func(k, val string) {
		if val != "" {
			data[k] = val
		}
	}
	set("api_version", ev.APIVersion)
	set("object_type", ev.ObjectType)
	set("subscription_id", ev.SubscriptionID)
	set("invoice_id", ev.InvoiceID)
	set("external_key", ev.ExternalKey)
	set("status", ev.Status)
	set("currency", ev.Currency)
	unix := func(k string, t time.Time) {
		if !t.IsZero() {
			data[k] = strconv.FormatInt(t.Unix(), 10)
		}
	}
	switch ev.ObjectType {
	case "invoice":
		data["amount_due"] = strconv.FormatInt(ev.AmountDue, 10)
		data["amount_paid"] = strconv.FormatInt(ev.AmountPaid, 10)
		data["total"] = strconv.FormatInt(ev.Total, 10)
		set("number", ev.Number)
		set("hosted_url", ev.HostedURL)
		set("pdf_url", ev.PDFURL)
		unix("period_start", ev.PeriodStart)
		unix("period_end", ev.PeriodEnd)
		unix("created", ev.ObjectCreated)
	case "subscription":
		unix("current_period_end", ev.CurrentPeriodEnd)
	case "payment_method":
		if c := ev.Card; c != nil {
			set("card.brand", c.Brand)
			set("card.last4", c.Last4)
			data["card.exp_month"] = strconv.FormatInt(c.ExpMonth, 10)
			data["card.exp_year"] = strconv.FormatInt(c.ExpYear, 10)
		}
	}
	for i, f := range ev.ChangedFields {
		data["changed."+strconv.Itoa(i)] = f
	}
	return []sdk.BillingEvent{{
		ID: ev.ID, Type: ev.Type, Time: ev.Created, ObjectID: ev.ObjectID, CustomerID: ev.CustomerID, Data: data,
	}}, nil
}

func toSDKSub(s stripeclient.Subscription) sdk.Subscription {
	return sdk.Subscription{
		ID: s.ID, ExternalKey: s.ExternalKey, CustomerID: s.CustomerID, PriceID: s.PriceID,
		Quantity: s.Quantity, Status: s.Status, Paused: s.Paused(), CurrentPeriodEnd: s.CurrentPeriodEnd,
	}
}

// toSDK maps stripeclient error kinds to sdk codes. Messages are already
// free of secrets.
func toSDK(err error) error {
	if err == nil {
		return nil
	}
	code := sdk.CodeInternal
	switch {
	case errors.Is(err, stripeclient.ErrNotFound):
		code = sdk.CodeNotFound
	case errors.Is(err, stripeclient.ErrConflict):
		code = sdk.CodeConflict
	case errors.Is(err, stripeclient.ErrUnauthenticated):
		code = sdk.CodeUnauthenticated
	case errors.Is(err, stripeclient.ErrInvalid):
		code = sdk.CodeInvalid
	case errors.Is(err, stripeclient.ErrUnavailable):
		code = sdk.CodeUnavailable
	}
	return &sdk.Error{Code: code, Message: err.Error(), Cause: err}
}
