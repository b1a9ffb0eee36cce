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
	// ReplaceDetails makes Name, Email, Country and VATID the customer's
	// complete billing details: an empty one is removed. Without it, empty
	// fields leave the customer's values alone and Country and VATID are
	// not applied.
	ReplaceDetails bool
	// Country is the ISO 3166-1 alpha-2 country of the billing address.
	Country string
	// VATID is an EU VAT number with its country prefix; it is kept as the
	// customer's only eu_vat tax ID.
	VATID string
}

// VATType is the Stripe tax ID type of EU VAT numbers.
const VATType = "eu_vat"

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
		cust, err := c.updateCustomer(ctx, existing, in)
		if err != nil {
			return Customer{}, false, wrapErr(op, err)
		}
		if in.ReplaceDetails {
			if err := c.syncVATID(ctx, existing.ID, in.VATID); err != nil {
				return Customer{}, false, wrapErr(op, err)
			}
		}
		return cust, false, nil
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
	if in.ReplaceDetails && in.Country != "" {
		params.Address = &stripe.AddressParams{Country: stripe.String(in.Country)}
	}
	if in.ReplaceDetails && in.VATID != "" {
		params.TaxIDData = []*stripe.CustomerTaxIDDataParams{{Type: stripe.String(VATType), Value: stripe.String(in.VATID)}}
	}
	params.SetIdempotencyKey(idempotencyKey("customer", in.ExternalKey))
	nc, err := c.api.Customers.New(params)
	if err != nil {
		return Customer{}, false, wrapErr(op, err)
	}
	c.log.InfoContext(ctx, "stripe customer created", "customer", nc.ID, "key", in.ExternalKey)
	return toCustomer(nc), true, nil
}

// updateCustomer brings an existing customer's name, email and (with
// ReplaceDetails) country to in, with one update call when anything
// differs. Stripe removes a field set to the empty string.
func (c *Client) updateCustomer(ctx context.Context, existing *stripe.Customer, in CustomerInput) (Customer, error) {
	upd := &stripe.CustomerParams{Params: stripe.Params{Context: ctx}}
	changed := false
	if (in.Name != "" || in.ReplaceDetails) && in.Name != existing.Name {
		upd.Name = stripe.String(in.Name)
		changed = true
	}
	if (in.Email != "" || in.ReplaceDetails) && in.Email != existing.Email {
		upd.Email = stripe.String(in.Email)
		changed = true
	}
	if in.ReplaceDetails {
		have := ""
		if existing.Address != nil {
			have = existing.Address.Country
		}
		switch {
		case in.Country == have:
		case in.Country == "":
			upd.AddExtra("address", "")
			changed = true
		default:
			upd.Address = &stripe.AddressParams{Country: stripe.String(in.Country)}
			changed = true
		}
	}
	if !changed {
		return toCustomer(existing), nil
	}
	updated, err := c.api.Customers.Update(existing.ID, upd)
	if err != nil {
		return Customer{}, err
	}
	c.log.InfoContext(ctx, "stripe customer updated", "customer", updated.ID)
	return toCustomer(updated), nil
}

// syncVATID makes vat (or nothing, when empty) the customer's only EU VAT
// tax ID: other eu_vat IDs are deleted, a missing one is added. Tax IDs of
// other types are left alone.
func (c *Client) syncVATID(ctx context.Context, customerID, vat string) error {
	it := c.api.TaxIDs.List(&stripe.TaxIDListParams{ListParams: stripe.ListParams{Context: ctx}, Customer: stripe.String(customerID)})
	found := false
	var stale []string
	for it.Next() {
		t := it.TaxID()
		if t == nil || string(t.Type) != VATType {
			continue
		}
		if vat != "" && t.Value == vat && !found {
			found = true
			continue
		}
		stale = append(stale, t.ID)
	}
	if err := it.Err(); err != nil {
		return err
	}
	for _, id := range stale {
		if _, err := c.api.TaxIDs.Del(id, &stripe.TaxIDParams{Params: stripe.Params{Context: ctx}, Customer: stripe.String(customerID)}); err != nil {
			return err
		}
	}
	if vat == "" || found {
		return nil
	}
	_, err := c.api.TaxIDs.New(&stripe.TaxIDParams{
		Params: stripe.Params{Context: ctx}, Customer: stripe.String(customerID),
		Type: stripe.String(VATType), Value: stripe.String(vat),
	})
	return err
}

// Card is what may be shown of a card payment method.
type Card struct {
	PaymentMethodID string
	Brand           string
	Last4           string
	ExpMonth        int64
	ExpYear         int64
}

// GetPaymentMethod describes one of the customer's payment methods; one
// attached to another customer (or none) is ErrNotFound. A payment method
// that is not a card has an empty Brand.
func (c *Client) GetPaymentMethod(ctx context.Context, customerID, paymentMethodID string) (Card, error) {
	const op = "GetPaymentMethod"
	if err := validateID(op, "customer ID", customerID); err != nil {
		return Card{}, err
	}
	if err := validateID(op, "payment method ID", paymentMethodID); err != nil {
		return Card{}, err
	}
	// The customer-scoped endpoint answers 404 for another customer's
	// payment method.
	pm, err := c.api.Customers.RetrievePaymentMethod(paymentMethodID, &stripe.CustomerRetrievePaymentMethodParams{
		Params: stripe.Params{Context: ctx}, Customer: stripe.String(customerID),
	})
	if err != nil {
		return Card{}, wrapErr(op, err)
	}
	out := Card{PaymentMethodID: pm.ID}
	if pm.Card != nil {
		out.Brand, out.Last4 = string(pm.Card.Brand), pm.Card.Last4
		out.ExpMonth, out.ExpYear = pm.Card.ExpMonth, pm.Card.ExpYear
	}
	return out, nil
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
