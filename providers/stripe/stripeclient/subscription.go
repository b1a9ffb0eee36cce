package stripeclient

import (
	"context"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// DefaultDaysUntilDue is used when SubscriptionInput.DaysUntilDue is zero.
const DefaultDaysUntilDue = 30

// Subscription is the billing view of a single-item Stripe subscription.
type Subscription struct {
	ID          string
	CustomerID  string
	ExternalKey string
	// Status is Stripe's status: active, past_due, canceled, ...
	Status string
	// ItemID and PriceID identify the subscription's only item.
	ItemID   string
	PriceID  string
	Quantity int64
	// CollectionMethod is "send_invoice" for subscriptions created here.
	CollectionMethod string
	DaysUntilDue     int64
	// PauseBehavior is the pause_collection behavior, empty when collection
	// is not paused.
	PauseBehavior      PauseBehavior
	CancelAtPeriodEnd  bool
	CurrentPeriodStart time.Time
	CurrentPeriodEnd   time.Time
	CanceledAt         time.Time
}

// Paused reports whether invoice collection is paused.
func (s Subscription) Paused() bool { return s.PauseBehavior != "" }

// SubscriptionInput describes the subscription CreateSubscription ensures.
type SubscriptionInput struct {
	// ExternalKey is the caller's stable key (e.g. the tenant ID). Required.
	ExternalKey string
	CustomerID  string // required
	PriceID     string // required
	// Quantity is the number of seats, at least 1.
	Quantity int64
	// DaysUntilDue defaults to DefaultDaysUntilDue.
	DaysUntilDue int64
	// ChargeAutomatically charges the default payment method instead of
	// sending invoices (collection_method charge_automatically); then
	// DaysUntilDue is not used.
	ChargeAutomatically bool
	// Metadata is stored in addition to MetadataKey.
	Metadata map[string]string
}

// Proration selects proration_behavior for item changes.
type Proration string

// Proration behaviors.
const (
	ProrationCreate        Proration = "create_prorations"
	ProrationNone          Proration = "none"
	ProrationAlwaysInvoice Proration = "always_invoice"
)

// PauseBehavior selects what happens to invoices while collection is paused.
type PauseBehavior string

// Pause behaviors (pause_collection.behavior).
const (
	PauseKeepAsDraft       PauseBehavior = "keep_as_draft"
	PauseMarkUncollectible PauseBehavior = "mark_uncollectible"
	PauseVoid              PauseBehavior = "void"
)

// CancelOptions tunes Cancel.
type CancelOptions struct {
	// AtPeriodEnd cancels at the end of the current period instead of now.
	AtPeriodEnd bool
	// InvoiceNow issues a final invoice for pending usage and prorations
	// (immediate cancellation only).
	InvoiceNow bool
	// Prorate credits unused time (immediate cancellation only).
	Prorate bool
}

// CreateSubscription returns the live subscription carrying in.ExternalKey,
// creating a send_invoice subscription (or charge_automatically, when asked)
// if there is none. A subscription that
// is canceled or incomplete_expired does not count as live. created reports
// whether it was created by this call.
func (c *Client) CreateSubscription(ctx context.Context, in SubscriptionInput) (sub Subscription, created bool, err error) {
	const op = "CreateSubscription"
	if err := validateKey(op, "external key", in.ExternalKey); err != nil {
		return Subscription{}, false, err
	}
	if err := validateID(op, "customer ID", in.CustomerID); err != nil {
		return Subscription{}, false, err
	}
	if err := validateID(op, "price ID", in.PriceID); err != nil {
		return Subscription{}, false, err
	}
	if in.Quantity < 1 {
		return Subscription{}, false, invalidf(op, "quantity must be at least 1")
	}
	days := in.DaysUntilDue
	if days == 0 {
		days = DefaultDaysUntilDue
	}
	if days < 0 {
		return Subscription{}, false, invalidf(op, "days until due must be positive")
	}

	search := &stripe.SubscriptionSearchParams{SearchParams: stripe.SearchParams{
		Context: ctx,
		Query:   metadataQuery(in.ExternalKey),
		Limit:   stripe.Int64(10),
		Single:  true,
	}}
	it := c.api.Subscriptions.Search(search)
	for it.Next() {
		s := it.Subscription()
		if s == nil || s.Metadata[MetadataKey] != in.ExternalKey {
			continue
		}
		if s.Status == stripe.SubscriptionStatusCanceled || s.Status == stripe.SubscriptionStatusIncompleteExpired {
			continue
		}
		return toSubscription(s), false, nil
	}
	if err := it.Err(); err != nil {
		return Subscription{}, false, wrapErr(op, err)
	}

	params := &stripe.SubscriptionParams{
		Params:           stripe.Params{Context: ctx},
		Customer:         stripe.String(in.CustomerID),
		CollectionMethod: stripe.String(string(stripe.SubscriptionCollectionMethodSendInvoice)),
		DaysUntilDue:     stripe.Int64(days),
		Items: []*stripe.SubscriptionItemsParams{{
			Price:    stripe.String(in.PriceID),
			Quantity: stripe.Int64(in.Quantity),
		}},
		Metadata: mergeMetadata(in.Metadata, in.ExternalKey),
	}
	if in.ChargeAutomatically {
		params.CollectionMethod = stripe.String(string(stripe.SubscriptionCollectionMethodChargeAutomatically))
		params.DaysUntilDue = nil
	}
	params.SetIdempotencyKey(idempotencyKey("subscription", in.ExternalKey, in.CustomerID))
	s, err := c.api.Subscriptions.New(params)
	if err != nil {
		return Subscription{}, false, wrapErr(op, err)
	}
	c.log.InfoContext(ctx, "stripe subscription created", "subscription", s.ID, "customer", in.CustomerID, "key", in.ExternalKey)
	return toSubscription(s), true, nil
}

// GetSubscription returns the subscription with the given Stripe ID.
func (c *Client) GetSubscription(ctx context.Context, id string) (Subscription, error) {
	const op = "GetSubscription"
	s, err := c.getSubscription(ctx, op, id)
	if err != nil {
		return Subscription{}, err
	}
	return toSubscription(s), nil
}

func (c *Client) getSubscription(ctx context.Context, op, id string) (*stripe.Subscription, error) {
	if err := validateID(op, "subscription ID", id); err != nil {
		return nil, err
	}
	s, err := c.api.Subscriptions.Get(id, &stripe.SubscriptionParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return s, nil
}

// singleItem returns the only item of s.
func singleItem(op string, s *stripe.Subscription) (*stripe.SubscriptionItem, error) {
	if s.Items == nil || len(s.Items.Data) != 1 || s.Items.Data[0] == nil {
		n := 0
		if s.Items != nil {
			n = len(s.Items.Data)
		}
		return nil, &Error{Op: op, Kind: ErrConflict, Message: "subscription " + s.ID + " must have exactly one item, has " + strconv.Itoa(n)}
	}
	return s.Items.Data[0], nil
}

// UpdateQuantity sets the seat count of the subscription's item. It is a
// no-op when the quantity is already current.
func (c *Client) UpdateQuantity(ctx context.Context, subscriptionID string, quantity int64, proration Proration) (Subscription, error) {
	const op = "UpdateQuantity"
	if quantity < 1 {
		return Subscription{}, invalidf(op, "quantity must be at least 1")
	}
	if err := validateProration(op, proration); err != nil {
		return Subscription{}, err
	}
	s, err := c.getLive(ctx, op, subscriptionID)
	if err != nil {
		return Subscription{}, err
	}
	item, err := singleItem(op, s)
	if err != nil {
		return Subscription{}, err
	}
	if item.Quantity == quantity {
		return toSubscription(s), nil
	}
	upd, err := c.api.Subscriptions.Update(subscriptionID, &stripe.SubscriptionParams{
		Params: stripe.Params{Context: ctx},
		Items: []*stripe.SubscriptionItemsParams{{
			ID:       stripe.String(item.ID),
			Quantity: stripe.Int64(quantity),
		}},
		ProrationBehavior: stripe.String(string(proration)),
	})
	if err != nil {
		return Subscription{}, wrapErr(op, err)
	}
	return toSubscription(upd), nil
}

// MovePrice moves the subscription's item to newPriceID with
// proration_behavior none: the new amount applies from the next period. It
// is a no-op when the item already uses newPriceID.
func (c *Client) MovePrice(ctx context.Context, subscriptionID, newPriceID string) (Subscription, error) {
	const op = "MovePrice"
	if err := validateID(op, "price ID", newPriceID); err != nil {
		return Subscription{}, err
	}
	s, err := c.getLive(ctx, op, subscriptionID)
	if err != nil {
		return Subscription{}, err
	}
	item, err := singleItem(op, s)
	if err != nil {
		return Subscription{}, err
	}
	if item.Price != nil && item.Price.ID == newPriceID {
		return toSubscription(s), nil
	}
	upd, err := c.api.Subscriptions.Update(subscriptionID, &stripe.SubscriptionParams{
		Params: stripe.Params{Context: ctx},
		Items: []*stripe.SubscriptionItemsParams{{
			ID:       stripe.String(item.ID),
			Price:    stripe.String(newPriceID),
			Quantity: stripe.Int64(item.Quantity),
		}},
		ProrationBehavior: stripe.String(string(ProrationNone)),
	})
	if err != nil {
		return Subscription{}, wrapErr(op, err)
	}
	c.log.InfoContext(ctx, "stripe subscription moved to new price", "subscription", subscriptionID, "price", newPriceID)
	return toSubscription(upd), nil
}

// Pause pauses invoice collection (pause_collection) with the given
// behavior. It is a no-op when collection is already paused that way.
func (c *Client) Pause(ctx context.Context, subscriptionID string, behavior PauseBehavior) (Subscription, error) {
	const op = "Pause"
	switch behavior {
	case PauseKeepAsDraft, PauseMarkUncollectible, PauseVoid:
	default:
		return Subscription{}, invalidf(op, "pause behavior %q must be keep_as_draft, mark_uncollectible or void", behavior)
	}
	s, err := c.getLive(ctx, op, subscriptionID)
	if err != nil {
		return Subscription{}, err
	}
	if s.PauseCollection != nil && PauseBehavior(s.PauseCollection.Behavior) == behavior {
		return toSubscription(s), nil
	}
	upd, err := c.api.Subscriptions.Update(subscriptionID, &stripe.SubscriptionParams{
		Params: stripe.Params{Context: ctx},
		PauseCollection: &stripe.SubscriptionPauseCollectionParams{
			Behavior: stripe.String(string(behavior)),
		},
	})
	if err != nil {
		return Subscription{}, wrapErr(op, err)
	}
	return toSubscription(upd), nil
}

// Resume clears pause_collection. It is a no-op when collection is not
// paused.
func (c *Client) Resume(ctx context.Context, subscriptionID string) (Subscription, error) {
	const op = "Resume"
	s, err := c.getLive(ctx, op, subscriptionID)
	if err != nil {
		return Subscription{}, err
	}
	if s.PauseCollection == nil || s.PauseCollection.Behavior == "" {
		return toSubscription(s), nil
	}
	params := &stripe.SubscriptionParams{Params: stripe.Params{Context: ctx}}
	// An empty value unsets the field upstream.
	params.AddExtra("pause_collection", "")
	upd, err := c.api.Subscriptions.Update(subscriptionID, params)
	if err != nil {
		return Subscription{}, wrapErr(op, err)
	}
	return toSubscription(upd), nil
}

// Cancel cancels the subscription now, or at the period end when
// opts.AtPeriodEnd is set. Cancelling a canceled subscription is a no-op.
func (c *Client) Cancel(ctx context.Context, subscriptionID string, opts CancelOptions) (Subscription, error) {
	const op = "Cancel"
	s, err := c.getSubscription(ctx, op, subscriptionID)
	if err != nil {
		return Subscription{}, err
	}
	if s.Status == stripe.SubscriptionStatusCanceled || s.Status == stripe.SubscriptionStatusIncompleteExpired {
		return toSubscription(s), nil
	}
	if opts.AtPeriodEnd {
		if s.CancelAtPeriodEnd {
			return toSubscription(s), nil
		}
		upd, err := c.api.Subscriptions.Update(subscriptionID, &stripe.SubscriptionParams{
			Params:            stripe.Params{Context: ctx},
			CancelAtPeriodEnd: stripe.Bool(true),
		})
		if err != nil {
			return Subscription{}, wrapErr(op, err)
		}
		return toSubscription(upd), nil
	}
	params := &stripe.SubscriptionCancelParams{Params: stripe.Params{Context: ctx}}
	if opts.InvoiceNow {
		params.InvoiceNow = stripe.Bool(true)
	}
	if opts.Prorate {
		params.Prorate = stripe.Bool(true)
	}
	cs, err := c.api.Subscriptions.Cancel(subscriptionID, params)
	if err != nil {
		return Subscription{}, wrapErr(op, err)
	}
	c.log.InfoContext(ctx, "stripe subscription canceled", "subscription", subscriptionID)
	return toSubscription(cs), nil
}

// getLive fetches a subscription and refuses canceled ones, which Stripe
// no longer lets change.
func (c *Client) getLive(ctx context.Context, op, id string) (*stripe.Subscription, error) {
	s, err := c.getSubscription(ctx, op, id)
	if err != nil {
		return nil, err
	}
	if s.Status == stripe.SubscriptionStatusCanceled || s.Status == stripe.SubscriptionStatusIncompleteExpired {
		return nil, &Error{Op: op, Kind: ErrConflict, Message: "subscription " + id + " is " + string(s.Status)}
	}
	return s, nil
}

func validateProration(op string, p Proration) error {
	switch p {
	case ProrationCreate, ProrationNone, ProrationAlwaysInvoice:
		return nil
	default:
		return invalidf(op, "proration %q must be create_prorations, none or always_invoice", p)
	}
}

func toSubscription(s *stripe.Subscription) Subscription {
	out := Subscription{
		ID:                 s.ID,
		ExternalKey:        s.Metadata[MetadataKey],
		Status:             string(s.Status),
		CollectionMethod:   string(s.CollectionMethod),
		DaysUntilDue:       s.DaysUntilDue,
		CancelAtPeriodEnd:  s.CancelAtPeriodEnd,
		CurrentPeriodStart: unixTime(s.CurrentPeriodStart),
		CurrentPeriodEnd:   unixTime(s.CurrentPeriodEnd),
		CanceledAt:         unixTime(s.CanceledAt),
	}
	if s.Customer != nil {
		out.CustomerID = s.Customer.ID
	}
	if s.PauseCollection != nil {
		out.PauseBehavior = PauseBehavior(s.PauseCollection.Behavior)
	}
	if s.Items != nil && len(s.Items.Data) > 0 && s.Items.Data[0] != nil {
		item := s.Items.Data[0]
		out.ItemID = item.ID
		out.Quantity = item.Quantity
		if item.Price != nil {
			out.PriceID = item.Price.ID
		}
	}
	return out
}

func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
