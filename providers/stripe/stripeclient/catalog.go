package stripeclient

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// Product is the billing view of a Stripe product.
type Product struct {
	ID          string
	Name        string
	Description string
	Active      bool
	Metadata    map[string]string
}

// ProductInput describes the product EnsureProduct converges on.
type ProductInput struct {
	// ID is the stable product ID used verbatim as the Stripe product ID
	// (letters, digits, '-' and '_'; e.g. "dezky-plan-business"). Required.
	ID          string
	Name        string // required
	Description string
	// Metadata is stored on create in addition to MetadataKey (= ID).
	Metadata map[string]string
}

// EnsureProduct returns the product with in.ID, creating it if missing. An
// existing product is updated when its name or description differs, and
// reactivated when archived. created reports whether it was created now.
func (c *Client) EnsureProduct(ctx context.Context, in ProductInput) (prod Product, created bool, err error) {
	const op = "EnsureProduct"
	if err := validateObjectKey(op, "product ID", in.ID); err != nil {
		return Product{}, false, err
	}
	if strings.TrimSpace(in.Name) == "" {
		return Product{}, false, invalidf(op, "product name is required")
	}
	existing, err := c.api.Products.Get(in.ID, &stripe.ProductParams{Params: stripe.Params{Context: ctx}})
	switch {
	case err == nil && !existing.Deleted:
		upd := &stripe.ProductParams{Params: stripe.Params{Context: ctx}}
		changed := false
		if existing.Name != in.Name {
			upd.Name = stripe.String(in.Name)
			changed = true
		}
		if in.Description != "" && existing.Description != in.Description {
			upd.Description = stripe.String(in.Description)
			changed = true
		}
		if !existing.Active {
			upd.Active = stripe.Bool(true)
			changed = true
		}
		if !changed {
			return toProduct(existing), false, nil
		}
		p, err := c.api.Products.Update(in.ID, upd)
		if err != nil {
			return Product{}, false, wrapErr(op, err)
		}
		return toProduct(p), false, nil
	case err == nil:
		// A deleted product's ID cannot be reused.
		return Product{}, false, &Error{Op: op, Kind: ErrConflict, Message: "product " + in.ID + " was deleted"}
	}
	if werr := wrapErr(op, err); !errors.Is(werr, ErrNotFound) {
		return Product{}, false, werr
	}
	params := &stripe.ProductParams{
		Params:   stripe.Params{Context: ctx},
		ID:       stripe.String(in.ID),
		Name:     stripe.String(in.Name),
		Metadata: mergeMetadata(in.Metadata, in.ID),
	}
	if in.Description != "" {
		params.Description = stripe.String(in.Description)
	}
	params.SetIdempotencyKey(idempotencyKey("product", in.ID))
	p, err := c.api.Products.New(params)
	if err != nil {
		return Product{}, false, wrapErr(op, err)
	}
	c.log.InfoContext(ctx, "stripe product created", "product", p.ID)
	return toProduct(p), true, nil
}

// Interval is a recurring price's billing interval.
type Interval string

// Billing intervals.
const (
	IntervalDay   Interval = "day"
	IntervalWeek  Interval = "week"
	IntervalMonth Interval = "month"
	IntervalYear  Interval = "year"
)

// Price is the billing view of a recurring Stripe price.
type Price struct {
	ID            string
	ProductID     string
	LookupKey     string
	Currency      string
	UnitAmount    int64 // minor units
	Interval      Interval
	IntervalCount int64
	Active        bool
}

// PriceInput describes the current price for a lookup key.
type PriceInput struct {
	// ProductID is the product the price belongs to. Required.
	ProductID string
	// LookupKey names the price slot, stable across amount changes, e.g.
	// "dezky-plan-business:eur:month". Required.
	LookupKey string
	// Currency is a three-letter ISO code, lower case. Required.
	Currency string
	// UnitAmount is the per-unit amount in minor units (>= 0).
	UnitAmount int64
	// Interval is required; IntervalCount defaults to 1.
	Interval      Interval
	IntervalCount int64
	// Metadata is stored on the price in addition to MetadataKey.
	Metadata map[string]string
}

// PriceResult is the outcome of EnsurePrice.
type PriceResult struct {
	Price Price
	// Created reports whether a new Price was minted by this call.
	Created bool
	// ReplacedPriceID is the price that held the lookup key before, when a
	// change of amount, currency or interval minted a new price. Existing
	// subscriptions stay on it until moved with MovePrice.
	ReplacedPriceID string
}

// EnsurePrice returns the active price for in.LookupKey when it already has
// the requested product, currency, amount and interval. Otherwise it creates
// a new price (prices are immutable upstream) and transfers the lookup key to
// it.
func (c *Client) EnsurePrice(ctx context.Context, in PriceInput) (PriceResult, error) {
	const op = "EnsurePrice"
	if err := validateObjectKey(op, "product ID", in.ProductID); err != nil {
		return PriceResult{}, err
	}
	if err := validateKey(op, "lookup key", in.LookupKey); err != nil {
		return PriceResult{}, err
	}
	cur := strings.ToLower(in.Currency)
	if len(cur) != 3 || strings.Trim(cur, "abcdefghijklmnopqrstuvwxyz") != "" {
		return PriceResult{}, invalidf(op, "currency %q is not a three-letter ISO code", in.Currency)
	}
	if in.UnitAmount < 0 {
		return PriceResult{}, invalidf(op, "unit amount must not be negative")
	}
	switch in.Interval {
	case IntervalDay, IntervalWeek, IntervalMonth, IntervalYear:
	default:
		return PriceResult{}, invalidf(op, "interval %q must be day, week, month or year", in.Interval)
	}
	count := in.IntervalCount
	if count == 0 {
		count = 1
	}
	if count < 0 {
		return PriceResult{}, invalidf(op, "interval count must be positive")
	}

	list := &stripe.PriceListParams{
		ListParams: stripe.ListParams{Context: ctx, Limit: stripe.Int64(10), Single: true},
		LookupKeys: []*string{stripe.String(in.LookupKey)},
	}
	list.AddExpand("data.product")
	var current *stripe.Price
	it := c.api.Prices.List(list)
	for it.Next() {
		if p := it.Price(); p != nil && p.LookupKey == in.LookupKey {
			current = p
			break
		}
	}
	if err := it.Err(); err != nil {
		return PriceResult{}, wrapErr(op, err)
	}

	if current != nil && priceMatches(current, in.ProductID, cur, in.UnitAmount, in.Interval, count) {
		if !current.Active {
			p, err := c.api.Prices.Update(current.ID, &stripe.PriceParams{
				Params: stripe.Params{Context: ctx},
				Active: stripe.Bool(true),
			})
			if err != nil {
				return PriceResult{}, wrapErr(op, err)
			}
			return PriceResult{Price: toPrice(p)}, nil
		}
		return PriceResult{Price: toPrice(current)}, nil
	}

	replaced := ""
	if current != nil {
		replaced = current.ID
	}
	params := &stripe.PriceParams{
		Params:            stripe.Params{Context: ctx},
		Product:           stripe.String(in.ProductID),
		Currency:          stripe.String(cur),
		UnitAmount:        stripe.Int64(in.UnitAmount),
		LookupKey:         stripe.String(in.LookupKey),
		TransferLookupKey: stripe.Bool(current != nil),
		Recurring: &stripe.PriceRecurringParams{
			Interval:      stripe.String(string(in.Interval)),
			IntervalCount: stripe.Int64(count),
		},
		Metadata: mergeMetadata(in.Metadata, in.LookupKey),
	}
	// The replaced price is part of the key: going back to an earlier amount
	// later must mint a new price, not replay the first creation.
	params.SetIdempotencyKey(idempotencyKey("price", in.ProductID, in.LookupKey, cur,
		strconv.FormatInt(in.UnitAmount, 10), string(in.Interval), strconv.FormatInt(count, 10), replaced))
	p, err := c.api.Prices.New(params)
	if err != nil {
		return PriceResult{}, wrapErr(op, err)
	}
	c.log.InfoContext(ctx, "stripe price created", "price", p.ID, "lookup_key", in.LookupKey, "replaced", replaced)
	return PriceResult{Price: toPrice(p), Created: true, ReplacedPriceID: replaced}, nil
}

func priceMatches(p *stripe.Price, productID, currency string, amount int64, interval Interval, count int64) bool {
	if p.Product == nil || p.Product.ID != productID {
		return false
	}
	if string(p.Currency) != currency || p.UnitAmount != amount {
		return false
	}
	if p.Recurring == nil {
		return false
	}
	return string(p.Recurring.Interval) == string(interval) && p.Recurring.IntervalCount == count
}

// validateObjectKey checks an ID the caller chooses for a Stripe object.
func validateObjectKey(op, what, id string) error {
	if id == "" {
		return invalidf(op, "%s is required", what)
	}
	if len(id) > maxExternalKeyLen {
		return invalidf(op, "%s is longer than %d characters", what, maxExternalKeyLen)
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return invalidf(op, "%s contains %q; allowed are letters, digits, '-' and '_'", what, r)
		}
	}
	return nil
}

func toProduct(p *stripe.Product) Product {
	return Product{ID: p.ID, Name: p.Name, Description: p.Description, Active: p.Active, Metadata: p.Metadata}
}

func toPrice(p *stripe.Price) Price {
	out := Price{
		ID:         p.ID,
		LookupKey:  p.LookupKey,
		Currency:   string(p.Currency),
		UnitAmount: p.UnitAmount,
		Active:     p.Active,
	}
	if p.Product != nil {
		out.ProductID = p.Product.ID
	}
	if p.Recurring != nil {
		out.Interval = Interval(p.Recurring.Interval)
		out.IntervalCount = p.Recurring.IntervalCount
	}
	return out
}
