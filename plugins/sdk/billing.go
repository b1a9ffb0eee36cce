package sdk

import (
	"context"
	"time"
)

// Billing drives a billing service: customers, prices, subscriptions,
// payment methods, invoices and the signed event webhook.
//
// Contract, checked by conformance.RunBilling:
//   - EnsureCustomer is idempotent on ExternalKey; EnsurePrice on
//     (ProductKey, Currency, UnitAmount, Interval): prices are immutable, so
//     a new amount yields a new price while the same amount returns the
//     existing one. CreateSubscription is idempotent on ExternalKey.
//   - Subscription calls fail with NOT_FOUND for an unknown subscription,
//     customer or price.
//   - MoveSubscriptionPrice changes the price without proration.
//   - Invalid amounts, currencies, intervals or quantities fail with
//     INVALID.
//   - ParseBillingWebhook fails with UNAUTHENTICATED when the signature does
//     not verify (or is missing or stale), and with INVALID when a signed
//     body does not parse.
type Billing interface {
	EnsureCustomer(ctx context.Context, req EnsureCustomerRequest) (Customer, error)
	EnsurePrice(ctx context.Context, req EnsurePriceRequest) (Price, error)
	CreateSubscription(ctx context.Context, req CreateSubscriptionRequest) (Subscription, error)
	GetSubscription(ctx context.Context, subscriptionID string) (Subscription, error)
	UpdateSubscriptionQuantity(ctx context.Context, subscriptionID string, quantity int64) (Subscription, error)
	PauseSubscription(ctx context.Context, subscriptionID string) (Subscription, error)
	ResumeSubscription(ctx context.Context, subscriptionID string) (Subscription, error)
	CancelSubscription(ctx context.Context, subscriptionID string) (Subscription, error)
	MoveSubscriptionPrice(ctx context.Context, subscriptionID, priceID string) (Subscription, error)
	CreateSetupIntent(ctx context.Context, customerID string) (SetupIntent, error)
	SetDefaultPaymentMethod(ctx context.Context, customerID, paymentMethodID string) error
	ListInvoices(ctx context.Context, req ListInvoicesRequest) (InvoicePage, error)
	ParseBillingWebhook(ctx context.Context, hook Webhook) ([]BillingEvent, error)
}

// EnsureCustomerRequest ensures a customer keyed by ExternalKey (for
// example the tenant ID). With ReplaceDetails, Name, Email, Country and
// VATID are the customer's complete billing details and an empty one is
// removed from an existing customer; without it (older hosts), empty
// fields leave the customer's values alone and Country and VATID are
// ignored.
type EnsureCustomerRequest struct {
	ExternalKey string
	Name        string
	Email       string
	Metadata    map[string]string

	ReplaceDetails bool
	// Country is the ISO 3166-1 alpha-2 country of the billing address.
	Country string
	// VATID is an EU VAT identification number with its country prefix.
	VATID string
}

// Customer is a billing customer.
type Customer struct {
	ID                   string
	ExternalKey          string
	Name                 string
	Email                string
	DefaultPaymentMethod string
}

// PaymentMethods is implemented by billing providers that can describe a
// customer's payment method (protocol v2.1). The host reads it after a
// payment method becomes the default; with a provider without it, a
// tenant's card shows once the provider's payment_method.attached webhook
// arrives.
type PaymentMethods interface {
	// GetPaymentMethod fails with NOT_FOUND when paymentMethodID is not
	// one of customerID's payment methods.
	GetPaymentMethod(ctx context.Context, customerID, paymentMethodID string) (Card, error)
}

// Card is what may be shown of a payment card, never its number. A
// payment method that is not a card has an empty Brand.
type Card struct {
	PaymentMethodID string
	Brand           string
	Last4           string
	ExpMonth        int
	ExpYear         int
}

// Interval is a recurring billing interval.
type Interval string

// The billing intervals.
const (
	IntervalMonth Interval = "month"
	IntervalYear  Interval = "year"
)

// EnsurePriceRequest ensures a product (keyed by ProductKey) and a recurring
// price for it. UnitAmount is in minor units of the ISO 4217 Currency
// (lower case, e.g. "eur").
type EnsurePriceRequest struct {
	ProductKey  string
	ProductName string
	Currency    string
	UnitAmount  int64
	Interval    Interval
}

// Price is a recurring price.
type Price struct {
	ID         string
	ProductID  string
	ProductKey string
	Currency   string
	UnitAmount int64
	Interval   Interval
}

// CreateSubscriptionRequest creates a subscription; ExternalKey is the
// idempotency key. SendInvoice bills by emailed invoice (collection method
// send_invoice) due DaysUntilDue days after issue (0: provider default).
type CreateSubscriptionRequest struct {
	ExternalKey  string
	CustomerID   string
	PriceID      string
	Quantity     int64
	SendInvoice  bool
	DaysUntilDue int
}

// Subscription is a recurring subscription. Status is the upstream status
// (for example "active", "past_due", "canceled").
type Subscription struct {
	ID               string
	ExternalKey      string
	CustomerID       string
	PriceID          string
	Quantity         int64
	Status           string
	Paused           bool
	CurrentPeriodEnd time.Time
}

// SetupIntent collects a payment method in the browser with ClientSecret.
type SetupIntent struct {
	ID           string
	ClientSecret string
	// PublishableKey is the key the browser confirms the setup with.
	PublishableKey string
}

// ListInvoicesRequest pages through a customer's invoices, newest first.
type ListInvoicesRequest struct {
	CustomerID string
	Cursor     string
	Limit      int
}

// InvoicePage is one page of invoices; NextCursor is empty on the last page.
type InvoicePage struct {
	Invoices   []Invoice
	NextCursor string
}

// Invoice is a billing invoice; amounts are in minor units.
type Invoice struct {
	ID         string
	Number     string
	Status     string
	Currency   string
	AmountDue  int64
	AmountPaid int64
	Created    time.Time
	HostedURL  string
	PDFURL     string
	// Total is the invoice total in minor units; PeriodStart and PeriodEnd
	// bound the service it bills (zero when unknown).
	Total       int64
	PeriodStart time.Time
	PeriodEnd   time.Time
}

// BillingEvent is one normalized webhook event. Type is the upstream's raw
// event type; ObjectID the object it concerns.
type BillingEvent struct {
	ID         string
	Type       string
	Time       time.Time
	ObjectID   string
	CustomerID string
	Data       map[string]string
}
