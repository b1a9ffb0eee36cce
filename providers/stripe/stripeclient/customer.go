package stripeclient

import (
	"context"

	"github.com/stripe/stripe-go/v76"
)

// Customer is the billing view of a Stripe customer.
type Customer struct {
	ID          string
	ExternalKey string
	Name        string
	Email       string
	// DefaultPaymentMethodID is invoice_settings.default_payment_method.
	DefaultPaymentMethodID string
	Metadata               map[string]string
}

// CustomerInput describes the customer EnsureCustomer converges on.
type CustomerInput struct {
	// ExternalKey is the caller's stable key (e.g. the tenant ID). Required.
	ExternalKey string
	Name        string
	Email       string
	// Metadata is stored on create in addition to MetadataKey.
	Metadata map[string]string
}

// EnsureCustomer returns the customer carrying in.ExternalKey, creating it if
// none exists. An existing customer whose name or email differs from a
// non-empty input value is updated. created reports whether a new customer
// was created by this call.
func (c *Client) EnsureCustomer(ctx context.Context, in CustomerInput) (cust Customer, created bool, err error) {
	const op = "EnsureCustomer"
	if err := validateKey(op, "external key", in.ExternalKey); err != nil {
		return Customer{}, false, err
	}
	existing, err := c.findCustomer(ctx, in.ExternalKey)
	if err != nil {
		return Customer{}, false, wrapErr(op, err)
	}
	if existing != nil {
		upd := &stripe.CustomerParams{}
		changed := false
		if in.Name != "" && in.Name != existing.Name {
			upd.Name = stripe.String(in.Name)
			changed = true
		}
		if in.Email != "" && in.Email != existing.Email {
			upd.Email = stripe.String(in.Email)
			changed = true
		}
		if !changed {
			return toCustomer(existing), false, nil
		}
		upd.Context = ctx
		updated, err := c.api.Customers.Update(existing.ID, upd)
		if err != nil {
			return Customer{}, false, wrapErr(op, err)
		}
		c.log.InfoContext(ctx, "stripe customer updated", "customer", updated.ID, "key", in.ExternalKey)
		return toCustomer(updated), false, nil
	}

	params := &stripe.CustomerParams{
		Params:   stripe.Params{Context: ctx},
		Metadata: mergeMetadata(in.Metadata, in.ExternalKey),
	}
	if in.Name != "" {
		params.Name = stripe.String(in.Name)
	}
	if in.Email != "" {
		params.Email = stripe.String(in.Email)
	}
	params.SetIdempotencyKey(idempotencyKey("customer", in.ExternalKey))
	nc, err := c.api.Customers.New(params)
	if err != nil {
		return Customer{}, false, wrapErr(op, err)
	}
	c.log.InfoContext(ctx, "stripe customer created", "customer", nc.ID, "key", in.ExternalKey)
	return toCustomer(nc), true, nil
}

// findCustomer searches for a live customer whose metadata carries key.
// Search results are re-checked against the metadata so that only an exact
// match is trusted.
func (c *Client) findCustomer(ctx context.Context, key string) (*stripe.Customer, error) {
	params := &stripe.CustomerSearchParams{SearchParams: stripe.SearchParams{
		Context: ctx,
		Query:   metadataQuery(key),
		Limit:   stripe.Int64(10),
		Single:  true,
	}}
	it := c.api.Customers.Search(params)
	for it.Next() {
		cu := it.Customer()
		if cu != nil && !cu.Deleted && cu.Metadata[MetadataKey] == key {
			return cu, nil
		}
	}
	return nil, it.Err()
}

// GetCustomer returns the customer with the given Stripe ID.
func (c *Client) GetCustomer(ctx context.Context, id string) (Customer, error) {
	const op = "GetCustomer"
	if err := validateID(op, "customer ID", id); err != nil {
		return Customer{}, err
	}
	cu, err := c.api.Customers.Get(id, &stripe.CustomerParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return Customer{}, wrapErr(op, err)
	}
	if cu.Deleted {
		return Customer{}, &Error{Op: op, Kind: ErrNotFound, Message: "customer " + id + " is deleted"}
	}
	return toCustomer(cu), nil
}

// SetDefaultPaymentMethod makes paymentMethodID (already attached to the
// customer, e.g. by a confirmed SetupIntent) the default for invoices.
func (c *Client) SetDefaultPaymentMethod(ctx context.Context, customerID, paymentMethodID string) (Customer, error) {
	const op = "SetDefaultPaymentMethod"
	if err := validateID(op, "customer ID", customerID); err != nil {
		return Customer{}, err
	}
	if err := validateID(op, "payment method ID", paymentMethodID); err != nil {
		return Customer{}, err
	}
	cu, err := c.api.Customers.Update(customerID, &stripe.CustomerParams{
		Params: stripe.Params{Context: ctx},
		InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{
			DefaultPaymentMethod: stripe.String(paymentMethodID),
		},
	})
	if err != nil {
		return Customer{}, wrapErr(op, err)
	}
	return toCustomer(cu), nil
}

func toCustomer(cu *stripe.Customer) Customer {
	out := Customer{
		ID:          cu.ID,
		ExternalKey: cu.Metadata[MetadataKey],
		Name:        cu.Name,
		Email:       cu.Email,
		Metadata:    cu.Metadata,
	}
	if cu.InvoiceSettings != nil && cu.InvoiceSettings.DefaultPaymentMethod != nil {
		out.DefaultPaymentMethodID = cu.InvoiceSettings.DefaultPaymentMethod.ID
	}
	return out
}
