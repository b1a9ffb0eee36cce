package testprovider

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/dezky/platform/plugins/sdk"
)

func (p *Provider) subscriptionLocked(id string) (*sdk.Subscription, error) {
	s, ok := p.subscriptions[id]
	if !ok {
		return nil, sdk.NotFound("subscription %q not found", id)
	}
	return s, nil
}

// EnsureCustomer implements sdk.Billing.
func (p *Provider) EnsureCustomer(_ context.Context, req sdk.EnsureCustomerRequest) (sdk.Customer, error) {
	if req.ExternalKey == "" {
		return sdk.Customer{}, sdk.Invalid("external key is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.customers {
		if c.ExternalKey == req.ExternalKey {
			if req.Name != "" || req.ReplaceDetails {
				c.Name = req.Name
			}
			if req.Email != "" || req.ReplaceDetails {
				c.Email = req.Email
			}
			return *c, nil
		}
	}
	c := &sdk.Customer{ID: p.nextID("cus"), ExternalKey: req.ExternalKey, Name: req.Name, Email: req.Email}
	p.customers[c.ID] = c
	return *c, nil
}

// EnsurePrice implements sdk.Billing.
func (p *Provider) EnsurePrice(_ context.Context, req sdk.EnsurePriceRequest) (sdk.Price, error) {
	switch {
	case req.ProductKey == "":
		return sdk.Price{}, sdk.Invalid("product key is required")
	case req.UnitAmount < 0:
		return sdk.Price{}, sdk.Invalid("negative unit amount")
	case len(req.Currency) != 3:
		return sdk.Price{}, sdk.Invalid("invalid currency %q", req.Currency)
	case req.Interval != sdk.IntervalMonth && req.Interval != sdk.IntervalYear:
		return sdk.Price{}, sdk.Invalid("invalid interval %q", req.Interval)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.prices {
		if pr.ProductKey == req.ProductKey && pr.Currency == req.Currency && pr.UnitAmount == req.UnitAmount && pr.Interval == req.Interval {
			return *pr, nil
		}
	}
	pr := &sdk.Price{
		ID: p.nextID("price"), ProductID: "prod-" + req.ProductKey, ProductKey: req.ProductKey,
		Currency: req.Currency, UnitAmount: req.UnitAmount, Interval: req.Interval,
	}
	p.prices[pr.ID] = pr
	return *pr, nil
}

// CreateSubscription implements sdk.Billing.
func (p *Provider) CreateSubscription(_ context.Context, req sdk.CreateSubscriptionRequest) (sdk.Subscription, error) {
	if req.Quantity <= 0 {
		return sdk.Subscription{}, sdk.Invalid("quantity must be positive")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if req.ExternalKey != "" {
		for _, s := range p.subscriptions {
			if s.ExternalKey == req.ExternalKey {
				return *s, nil
			}
		}
	}
	if _, ok := p.customers[req.CustomerID]; !ok {
		return sdk.Subscription{}, sdk.NotFound("customer %q not found", req.CustomerID)
	}
	pr, ok := p.prices[req.PriceID]
	if !ok {
		return sdk.Subscription{}, sdk.NotFound("price %q not found", req.PriceID)
	}
	now := time.Now().UTC()
	s := &sdk.Subscription{
		ID: p.nextID("sub"), ExternalKey: req.ExternalKey, CustomerID: req.CustomerID, PriceID: req.PriceID,
		Quantity: req.Quantity, Status: "active", CurrentPeriodEnd: now.AddDate(0, 1, 0),
	}
	p.subscriptions[s.ID] = s
	p.invoices[req.CustomerID] = append(p.invoices[req.CustomerID], sdk.Invoice{
		ID: p.nextID("in"), Number: fmt.Sprintf("INV-%04d", p.seq), Status: "open", Currency: pr.Currency,
		AmountDue: pr.UnitAmount * req.Quantity, Created: now,
	})
	return *s, nil
}

// GetSubscription implements sdk.Billing.
func (p *Provider) GetSubscription(_ context.Context, id string) (sdk.Subscription, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, err := p.subscriptionLocked(id)
	if err != nil {
		return sdk.Subscription{}, err
	}
	return *s, nil
}

func (p *Provider) mutateSubscription(id string, fn func(*sdk.Subscription) error) (sdk.Subscription, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, err := p.subscriptionLocked(id)
	if err != nil {
		return sdk.Subscription{}, err
	}
	if s.Status == "canceled" {
		return sdk.Subscription{}, sdk.Conflict("subscription %q is canceled", id)
	}
	if err := fn(s); err != nil {
		return sdk.Subscription{}, err
	}
	return *s, nil
}

// UpdateSubscriptionQuantity implements sdk.Billing.
func (p *Provider) UpdateSubscriptionQuantity(_ context.Context, id string, quantity int64) (sdk.Subscription, error) {
	if quantity <= 0 {
		return sdk.Subscription{}, sdk.Invalid("quantity must be positive")
	}
	return p.mutateSubscription(id, func(s *sdk.Subscription) error { s.Quantity = quantity; return nil })
}

// PauseSubscription implements sdk.Billing.
func (p *Provider) PauseSubscription(_ context.Context, id string) (sdk.Subscription, error) {
	return p.mutateSubscription(id, func(s *sdk.Subscription) error { s.Paused = true; return nil })
}

// ResumeSubscription implements sdk.Billing.
func (p *Provider) ResumeSubscription(_ context.Context, id string) (sdk.Subscription, error) {
	return p.mutateSubscription(id, func(s *sdk.Subscription) error { s.Paused = false; return nil })
}

// CancelSubscription implements sdk.Billing; cancelling twice is a no-op.
func (p *Provider) CancelSubscription(_ context.Context, id string) (sdk.Subscription, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, err := p.subscriptionLocked(id)
	if err != nil {
		return sdk.Subscription{}, err
	}
	s.Status = "canceled"
	return *s, nil
}

// MoveSubscriptionPrice implements sdk.Billing (no proration).
func (p *Provider) MoveSubscriptionPrice(_ context.Context, id, priceID string) (sdk.Subscription, error) {
	return p.mutateSubscription(id, func(s *sdk.Subscription) error {
		if _, ok := p.prices[priceID]; !ok {
			return sdk.NotFound("price %q not found", priceID)
		}
		s.PriceID = priceID
		return nil
	})
}

// CreateSetupIntent implements sdk.Billing.
func (p *Provider) CreateSetupIntent(_ context.Context, customerID string) (sdk.SetupIntent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.customers[customerID]; !ok {
		return sdk.SetupIntent{}, sdk.NotFound("customer %q not found", customerID)
	}
	id := p.nextID("seti")
	return sdk.SetupIntent{ID: id, ClientSecret: id + "_secret_" + randomToken()}, nil
}

// SetDefaultPaymentMethod implements sdk.Billing.
func (p *Provider) SetDefaultPaymentMethod(_ context.Context, customerID, paymentMethodID string) error {
	if paymentMethodID == "" {
		return sdk.Invalid("payment method is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.customers[customerID]
	if !ok {
		return sdk.NotFound("customer %q not found", customerID)
	}
	c.DefaultPaymentMethod = paymentMethodID
	return nil
}

// ListInvoices implements sdk.Billing, newest first.
func (p *Provider) ListInvoices(_ context.Context, req sdk.ListInvoicesRequest) (sdk.InvoicePage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.customers[req.CustomerID]; !ok {
		return sdk.InvoicePage{}, sdk.NotFound("customer %q not found", req.CustomerID)
	}
	all := p.invoices[req.CustomerID]
	start := 0
	if req.Cursor != "" {
		n, err := strconv.Atoi(req.Cursor)
		if err != nil || n < 0 {
			return sdk.InvoicePage{}, sdk.Invalid("bad cursor %q", req.Cursor)
		}
		start = n
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 10
	}
	var out sdk.InvoicePage
	for i := start; i < len(all) && len(out.Invoices) < limit; i++ {
		out.Invoices = append(out.Invoices, all[len(all)-1-i])
	}
	if end := start + len(out.Invoices); end < len(all) {
		out.NextCursor = strconv.Itoa(end)
	}
	return out, nil
}

// ParseBillingWebhook implements sdk.Billing.
func (p *Provider) ParseBillingWebhook(_ context.Context, hook sdk.Webhook) ([]sdk.BillingEvent, error) {
	if err := p.verify(hook); err != nil {
		return nil, err
	}
	evs, err := decodeEvents(hook.Body)
	if err != nil {
		return nil, err
	}
	out := make([]sdk.BillingEvent, 0, len(evs))
	for _, e := range evs {
		out = append(out, sdk.BillingEvent{ID: e.ID, Type: e.Type, Time: e.Time, ObjectID: e.Subject, CustomerID: e.Customer, Data: e.Data})
	}
	return out, nil
}
