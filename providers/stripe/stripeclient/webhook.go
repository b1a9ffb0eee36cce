package stripeclient

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// SignatureHeader is the name of the HTTP header carrying the signature.
const SignatureHeader = "Stripe-Signature"

// DefaultTolerance is the maximum accepted distance between a signature's
// timestamp and the verifier's clock.
const DefaultTolerance = 5 * time.Minute

// Webhook verification failures. They are wrapped in an *Error of kind
// ErrInvalid; the first four are stripe-go's own sentinels.
var (
	ErrNotSigned          = webhook.ErrNotSigned
	ErrInvalidHeader      = webhook.ErrInvalidHeader
	ErrNoValidSignature   = webhook.ErrNoValidSignature
	ErrTooOld             = webhook.ErrTooOld
	ErrTimestampInFuture  = errors.New("timestamp is ahead of the clock by more than the tolerance")
	ErrAPIVersionMismatch = errors.New("event API version differs from the client's")
	ErrMalformedEvent     = errors.New("malformed event payload")
)

// Common event types. Event.Type carries any other type verbatim.
const (
	EventCustomerCreated            = "customer.created"
	EventCustomerUpdated            = "customer.updated"
	EventCustomerDeleted            = "customer.deleted"
	EventSubscriptionCreated        = "customer.subscription.created"
	EventSubscriptionUpdated        = "customer.subscription.updated"
	EventSubscriptionDeleted        = "customer.subscription.deleted"
	EventSubscriptionPaused         = "customer.subscription.paused"
	EventSubscriptionResumed        = "customer.subscription.resumed"
	EventInvoiceCreated             = "invoice.created"
	EventInvoiceFinalized           = "invoice.finalized"
	EventInvoicePaid                = "invoice.paid"
	EventInvoicePaymentFailed       = "invoice.payment_failed"
	EventInvoiceVoided              = "invoice.voided"
	EventInvoiceMarkedUncollectible = "invoice.marked_uncollectible"
	EventSetupIntentSucceeded       = "setup_intent.succeeded"
	EventPaymentMethodAttached      = "payment_method.attached"
)

const (
	maxSignatureHeaderLen = 8 << 10
	maxSignatures         = 16
)

// Signature is a parsed Stripe-Signature header.
type Signature struct {
	Timestamp time.Time
	// V1 holds the decoded v1 signatures; undecodable ones are skipped.
	V1 [][]byte
}

// ParseSignature parses "t=<unix>,v1=<hex>[,v1=<hex>...]". Unknown schemes
// (such as v0) are ignored; a missing or repeated t, a pair without exactly
// one '=', or no decodable v1 signature is an error.
func ParseSignature(header string) (Signature, error) {
	if header == "" {
		return Signature{}, ErrNotSigned
	}
	if len(header) > maxSignatureHeaderLen {
		return Signature{}, ErrInvalidHeader
	}
	var sig Signature
	seenT := false
	for _, pair := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || strings.Contains(v, "=") {
			return Signature{}, ErrInvalidHeader
		}
		switch k {
		case "t":
			if seenT {
				return Signature{}, ErrInvalidHeader
			}
			ts, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ts < 0 {
				return Signature{}, ErrInvalidHeader
			}
			sig.Timestamp = time.Unix(ts, 0)
			seenT = true
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) == 0 {
				continue
			}
			if len(sig.V1) == maxSignatures {
				return Signature{}, ErrInvalidHeader
			}
			sig.V1 = append(sig.V1, b)
		}
	}
	if !seenT {
		return Signature{}, ErrInvalidHeader
	}
	if len(sig.V1) == 0 {
		return Signature{}, ErrNoValidSignature
	}
	return sig, nil
}

// SignPayload returns a Stripe-Signature header value for payload signed
// with secret at time t, as Stripe would send it. Simulators and tests use
// it to produce deliveries.
func SignPayload(secret string, t time.Time, payload []byte) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: t}).Header
}

// WebhookVerifier checks Stripe-Signature headers and parses events.
type WebhookVerifier struct {
	// Secrets are the endpoint signing secrets (whsec_...). A signature
	// made with any of them is accepted, which covers secret rotation.
	Secrets []string
	// Tolerance bounds |now - t|; zero means DefaultTolerance.
	Tolerance time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StrictAPIVersion rejects events whose api_version differs from
	// stripe.APIVersion, as stripe-go's webhook.ConstructEvent does.
	StrictAPIVersion bool
}

// Verify authenticates payload (the raw, unmodified request body) against
// the Stripe-Signature header value and returns the normalized event.
func (v *WebhookVerifier) Verify(payload []byte, header string) (Event, error) {
	const op = "VerifyWebhook"
	if len(v.Secrets) == 0 {
		return Event{}, &Error{Op: op, Kind: ErrUnauthenticated, Message: "no webhook secret configured"}
	}
	sig, err := ParseSignature(header)
	if err != nil {
		return Event{}, &Error{Op: op, Kind: ErrUnauthenticated, Message: err.Error(), cause: err}
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	age := now().Sub(sig.Timestamp)
	if age > tol {
		return Event{}, &Error{Op: op, Kind: ErrUnauthenticated, Message: ErrTooOld.Error(), cause: ErrTooOld}
	}
	if -age > tol {
		return Event{}, &Error{Op: op, Kind: ErrUnauthenticated, Message: ErrTimestampInFuture.Error(), cause: ErrTimestampInFuture}
	}
	if !signatureMatches(sig, payload, v.Secrets) {
		return Event{}, &Error{Op: op, Kind: ErrUnauthenticated, Message: ErrNoValidSignature.Error(), cause: ErrNoValidSignature}
	}
	ev, err := ParseEvent(payload)
	if err != nil {
		return Event{}, err
	}
	if v.StrictAPIVersion && ev.APIVersion != stripe.APIVersion {
		return Event{}, &Error{
			Op: op, Kind: ErrInvalid, cause: ErrAPIVersionMismatch,
			Message: fmt.Sprintf("event %s has API version %q, expected %q", ev.ID, ev.APIVersion, stripe.APIVersion),
		}
	}
	return ev, nil
}

// signatureMatches verifies the signatures with stripe-go's webhook
// package. The header it sees is rebuilt from the parsed one, so that the
// syntax rules (and their typed errors) are ParseSignature's alone; the
// clock checks were made before, so stripe-go's own tolerance is off. Every
// secret is tried even after a match, so timing does not reveal which one
// matched.
func signatureMatches(sig Signature, payload []byte, secrets []string) bool {
	var h strings.Builder
	fmt.Fprintf(&h, "t=%d", sig.Timestamp.Unix())
	for _, s := range sig.V1 {
		h.WriteString(",v1=")
		h.WriteString(hex.EncodeToString(s))
	}
	header := h.String()
	matched := false
	for _, secret := range secrets {
		if secret != "" && webhook.ValidatePayloadIgnoringTolerance(payload, header, secret) == nil {
			matched = true
		}
	}
	return matched
}

// Event is a normalized Stripe event. Fields that do not apply to the
// event's object are empty.
type Event struct {
	ID         string
	Type       string
	APIVersion string
	Created    time.Time
	Livemode   bool
	// ObjectType and ObjectID describe data.object ("invoice", "in_...").
	ObjectType string
	ObjectID   string
	// CustomerID, SubscriptionID and InvoiceID are resolved from the object
	// itself or from its references, whichever applies.
	CustomerID     string
	SubscriptionID string
	InvoiceID      string
	// ExternalKey is the object's metadata[MetadataKey], if set.
	ExternalKey string
	Status      string
	Currency    string
	AmountDue   int64
	AmountPaid  int64
	// Number, HostedURL, PDFURL, Total, PeriodStart, PeriodEnd and
	// ObjectCreated describe an invoice.
	Number        string
	HostedURL     string
	PDFURL        string
	Total         int64
	PeriodStart   time.Time
	PeriodEnd     time.Time
	ObjectCreated time.Time
	// CurrentPeriodEnd is a subscription's.
	CurrentPeriodEnd time.Time
	// Card describes a card payment method.
	Card *Card
	// ChangedFields lists the top-level keys of data.previous_attributes
	// (for *.updated events) in document order.
	ChangedFields []string
	// Object is the raw data.object JSON.
	Object json.RawMessage
}

type eventEnvelope struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	APIVersion string `json:"api_version"`
	Created    int64  `json:"created"`
	Livemode   bool   `json:"livemode"`
	Type       string `json:"type"`
	Data       struct {
		Object             json.RawMessage `json:"object"`
		PreviousAttributes json.RawMessage `json:"previous_attributes"`
	} `json:"data"`
}

type eventObject struct {
	ID           string            `json:"id"`
	Object       string            `json:"object"`
	Customer     json.RawMessage   `json:"customer"`
	Subscription json.RawMessage   `json:"subscription"`
	Invoice      json.RawMessage   `json:"invoice"`
	Status       string            `json:"status"`
	Currency     string            `json:"currency"`
	AmountDue    int64             `json:"amount_due"`
	AmountPaid   int64             `json:"amount_paid"`
	Metadata     map[string]string `json:"metadata"`
	Number       string            `json:"number"`
	HostedURL    string            `json:"hosted_invoice_url"`
	PDFURL       string            `json:"invoice_pdf"`
	Total        int64             `json:"total"`
	PeriodStart  int64             `json:"period_start"`
	PeriodEnd    int64             `json:"period_end"`
	Created      int64             `json:"created"`
	// CurrentPeriodEnd is a subscription's.
	CurrentPeriodEnd int64 `json:"current_period_end"`
	Card             *struct {
		Brand    string `json:"brand"`
		Last4    string `json:"last4"`
		ExpMonth int64  `json:"exp_month"`
		ExpYear  int64  `json:"exp_year"`
	} `json:"card"`
	// Parent carries the subscription reference of invoices in API
	// versions that moved it out of the top level.
	Parent *struct {
		SubscriptionDetails *struct {
			Subscription json.RawMessage `json:"subscription"`
		} `json:"subscription_details"`
	} `json:"parent"`
}

// ParseEvent parses an event payload without verifying its signature. Use
// WebhookVerifier.Verify for deliveries; ParseEvent serves payloads that were
// authenticated otherwise (e.g. fetched from the API).
func ParseEvent(payload []byte) (Event, error) {
	const op = "ParseEvent"
	malformed := func(format string, args ...any) error {
		return &Error{Op: op, Kind: ErrInvalid, Message: sanitize(fmt.Sprintf(format, args...)), cause: ErrMalformedEvent}
	}
	var env eventEnvelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return Event{}, malformed("event JSON: %v", err)
	}
	if env.Object != "" && env.Object != "event" {
		return Event{}, malformed("object is %q, not an event", env.Object)
	}
	if env.ID == "" || env.Type == "" {
		return Event{}, malformed("event id and type are required")
	}
	obj := bytes.TrimSpace(env.Data.Object)
	if len(obj) == 0 || obj[0] != '{' {
		return Event{}, malformed("event %s has no data.object", env.ID)
	}
	var o eventObject
	if err := json.Unmarshal(obj, &o); err != nil {
		return Event{}, malformed("event %s data.object: %v", env.ID, err)
	}
	ev := Event{
		ID:          env.ID,
		Type:        env.Type,
		APIVersion:  env.APIVersion,
		Created:     unixTime(env.Created),
		Livemode:    env.Livemode,
		ObjectType:  o.Object,
		ObjectID:    o.ID,
		ExternalKey: o.Metadata[MetadataKey],
		Status:      o.Status,
		Currency:    o.Currency,
		AmountDue:   o.AmountDue,
		AmountPaid:  o.AmountPaid,
		Object:      json.RawMessage(obj),

		Number:           o.Number,
		HostedURL:        o.HostedURL,
		PDFURL:           o.PDFURL,
		Total:            o.Total,
		PeriodStart:      unixTime(o.PeriodStart),
		PeriodEnd:        unixTime(o.PeriodEnd),
		ObjectCreated:    unixTime(o.Created),
		CurrentPeriodEnd: unixTime(o.CurrentPeriodEnd),
	}
	if o.Card != nil && o.Object == "payment_method" {
		ev.Card = &Card{PaymentMethodID: o.ID, Brand: o.Card.Brand, Last4: o.Card.Last4, ExpMonth: o.Card.ExpMonth, ExpYear: o.Card.ExpYear}
	}
	var err error
	if ev.CustomerID, err = expandableID(o.Customer); err != nil {
		return Event{}, malformed("event %s customer: %v", env.ID, err)
	}
	if ev.SubscriptionID, err = expandableID(o.Subscription); err != nil {
		return Event{}, malformed("event %s subscription: %v", env.ID, err)
	}
	if ev.SubscriptionID == "" && o.Parent != nil && o.Parent.SubscriptionDetails != nil {
		if ev.SubscriptionID, err = expandableID(o.Parent.SubscriptionDetails.Subscription); err != nil {
			return Event{}, malformed("event %s parent subscription: %v", env.ID, err)
		}
	}
	if ev.InvoiceID, err = expandableID(o.Invoice); err != nil {
		return Event{}, malformed("event %s invoice: %v", env.ID, err)
	}
	switch o.Object {
	case "customer":
		ev.CustomerID = o.ID
	case "subscription":
		ev.SubscriptionID = o.ID
	case "invoice":
		ev.InvoiceID = o.ID
	}
	if prev := bytes.TrimSpace(env.Data.PreviousAttributes); len(prev) > 0 && !bytes.Equal(prev, []byte("null")) {
		keys, err := objectKeys(prev)
		if err != nil {
			return Event{}, malformed("event %s previous_attributes: %v", env.ID, err)
		}
		ev.ChangedFields = keys
	}
	return ev, nil
}

// expandableID reads a Stripe expandable reference: null, an ID string, or
// an object with an "id".
func expandableID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '{':
		var o struct {
			ID string `json:"id"`
		}
		err := json.Unmarshal(raw, &o)
		return o.ID, err
	default:
		return "", errors.New("reference is neither an ID nor an object")
	}
}

// objectKeys returns the top-level keys of a JSON object in document order.
func objectKeys(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return keys, nil
}
