package stripeclient

import (
	"context"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// SetupIntent is what a browser needs to collect a payment method with
// Stripe Elements.
type SetupIntent struct {
	ID         string
	CustomerID string
	Status     string
	// ClientSecret is handed to the browser once; it is not a credential for
	// the API and must not be logged.
	ClientSecret string
}

// CreateSetupIntent starts collecting a reusable (off-session) payment
// method for the customer.
func (c *Client) CreateSetupIntent(ctx context.Context, customerID string) (SetupIntent, error) {
	const op = "CreateSetupIntent"
	if err := validateID(op, "customer ID", customerID); err != nil {
		return SetupIntent{}, err
	}
	si, err := c.api.SetupIntents.New(&stripe.SetupIntentParams{
		Params:   stripe.Params{Context: ctx},
		Customer: stripe.String(customerID),
		Usage:    stripe.String(string(stripe.SetupIntentUsageOffSession)),
		AutomaticPaymentMethods: &stripe.SetupIntentAutomaticPaymentMethodsParams{
			Enabled: stripe.Bool(true),
		},
	})
	if err != nil {
		return SetupIntent{}, wrapErr(op, err)
	}
	out := SetupIntent{ID: si.ID, Status: string(si.Status), ClientSecret: si.ClientSecret, CustomerID: customerID}
	if si.Customer != nil && si.Customer.ID != "" {
		out.CustomerID = si.Customer.ID
	}
	return out, nil
}

// Invoice is the billing view of a Stripe invoice. Amounts are in minor
// units of Currency.
type Invoice struct {
	ID               string
	Number           string
	CustomerID       string
	SubscriptionID   string
	Status           string // draft, open, paid, uncollectible, void
	Currency         string
	AmountDue        int64
	AmountPaid       int64
	AmountRemaining  int64
	Total            int64
	Created          time.Time
	DueDate          time.Time
	PeriodStart      time.Time
	PeriodEnd        time.Time
	HostedInvoiceURL string
	PDFURL           string
}

// InvoiceQuery selects invoices for ListInvoices.
type InvoiceQuery struct {
	CustomerID string // required
	// SubscriptionID narrows to one subscription.
	SubscriptionID string
	// Status narrows to one status (draft, open, paid, uncollectible, void).
	Status string
	// Limit is the page size, 1..100; zero means 20.
	Limit int64
	// StartingAfter is the last invoice ID of the previous page.
	StartingAfter string
}

// InvoicePage is one page of invoices, newest first.
type InvoicePage struct {
	Invoices []Invoice
	// HasMore reports whether another page follows; pass the last ID as
	// StartingAfter to fetch it.
	HasMore bool
}

// ListInvoices returns one page of the customer's invoices, newest first.
func (c *Client) ListInvoices(ctx context.Context, q InvoiceQuery) (InvoicePage, error) {
	const op = "ListInvoices"
	if err := validateID(op, "customer ID", q.CustomerID); err != nil {
		return InvoicePage{}, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = 20
	}
	if limit < 1 || limit > 100 {
		return InvoicePage{}, invalidf(op, "limit must be between 1 and 100")
	}
	params := &stripe.InvoiceListParams{
		ListParams: stripe.ListParams{Context: ctx, Limit: stripe.Int64(limit), Single: true},
		Customer:   stripe.String(q.CustomerID),
	}
	if q.SubscriptionID != "" {
		if err := validateID(op, "subscription ID", q.SubscriptionID); err != nil {
			return InvoicePage{}, err
		}
		params.Subscription = stripe.String(q.SubscriptionID)
	}
	if q.Status != "" {
		switch stripe.InvoiceStatus(q.Status) {
		case stripe.InvoiceStatusDraft, stripe.InvoiceStatusOpen, stripe.InvoiceStatusPaid,
			stripe.InvoiceStatusUncollectible, stripe.InvoiceStatusVoid:
		default:
			return InvoicePage{}, invalidf(op, "status %q is not an invoice status", q.Status)
		}
		params.Status = stripe.String(q.Status)
	}
	if q.StartingAfter != "" {
		if err := validateID(op, "starting-after invoice ID", q.StartingAfter); err != nil {
			return InvoicePage{}, err
		}
		params.StartingAfter = stripe.String(q.StartingAfter)
	}
	it := c.api.Invoices.List(params)
	page := InvoicePage{Invoices: []Invoice{}}
	for it.Next() {
		page.Invoices = append(page.Invoices, toInvoice(it.Invoice()))
	}
	if err := it.Err(); err != nil {
		return InvoicePage{}, wrapErr(op, err)
	}
	if meta := it.Meta(); meta != nil {
		page.HasMore = meta.HasMore
	}
	return page, nil
}

func toInvoice(in *stripe.Invoice) Invoice {
	out := Invoice{
		ID:               in.ID,
		Number:           in.Number,
		Status:           string(in.Status),
		Currency:         string(in.Currency),
		AmountDue:        in.AmountDue,
		AmountPaid:       in.AmountPaid,
		AmountRemaining:  in.AmountRemaining,
		Total:            in.Total,
		Created:          unixTime(in.Created),
		DueDate:          unixTime(in.DueDate),
		PeriodStart:      unixTime(in.PeriodStart),
		PeriodEnd:        unixTime(in.PeriodEnd),
		HostedInvoiceURL: in.HostedInvoiceURL,
		PDFURL:           in.InvoicePDF,
	}
	if in.Customer != nil {
		out.CustomerID = in.Customer.ID
	}
	if in.Subscription != nil {
		out.SubscriptionID = in.Subscription.ID
	}
	return out
}
