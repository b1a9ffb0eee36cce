package stripeclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"

	"github.com/stripe/stripe-go/v76"
)

// Error kinds. Every error returned by the client matches exactly one of
// them with errors.Is.
var (
	// ErrNotFound: the referenced Stripe object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request conflicts with the object's state or with an
	// earlier request that used the same idempotency key.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: Stripe (or the client's own validation) rejected the input.
	ErrInvalid = errors.New("invalid request")
	// ErrUnauthenticated: a webhook could not be authenticated: no secret
	// is configured, or its signature is missing, malformed, stale or
	// does not match.
	ErrUnauthenticated = errors.New("webhook not authenticated")
	// ErrUnavailable: Stripe could not be reached, failed, rate limited the
	// request, or rejected the credentials; retrying later may succeed.
	ErrUnavailable = errors.New("unavailable")
)

// Error is the error type returned by Client and WebhookVerifier methods.
type Error struct {
	// Op is the client operation, e.g. "EnsureCustomer".
	Op string
	// Kind is one of ErrNotFound, ErrConflict, ErrInvalid, ErrUnavailable.
	Kind error
	// Message is a sanitized description safe to show to operators.
	Message string
	// Code is Stripe's error code (e.g. "resource_missing"), if any.
	Code string
	// Param is the request parameter Stripe blamed, if any.
	Param string
	// HTTPStatus is the upstream HTTP status, 0 when no response was received.
	HTTPStatus int
	// RequestID is Stripe's request ID, useful for support.
	RequestID string

	cause error
}

// Error implements error. It includes only sanitized text.
func (e *Error) Error() string {
	msg := fmt.Sprintf("stripe: %s: %v", e.Op, e.Kind)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap exposes the kind sentinel and the underlying cause (for example a
// *stripe.Error or context.DeadlineExceeded).
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

// secretPattern matches Stripe secrets that must never appear in messages:
// API keys (secret, restricted, publishable), webhook signing secrets and
// client secrets of intents.
var secretPattern = regexp.MustCompile(`(?i)\b(?:(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9_]+|whsec_[A-Za-z0-9+/=_]+|(?:seti|pi)_[A-Za-z0-9]+_secret_[A-Za-z0-9]+)`)

func sanitize(s string) string {
	return secretPattern.ReplaceAllString(s, "[redacted]")
}

func invalidf(op, format string, args ...any) error {
	return &Error{Op: op, Kind: ErrInvalid, Message: sanitize(fmt.Sprintf(format, args...))}
}

// wrapErr maps any error from stripe-go or the transport to *Error.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var own *Error
	if errors.As(err, &own) {
		return err
	}
	e := &Error{Op: op, cause: err}

	var se *stripe.Error
	switch {
	case errors.As(err, &se):
		e.Code = string(se.Code)
		e.Param = se.Param
		e.HTTPStatus = se.HTTPStatusCode
		e.RequestID = se.RequestID
		e.Kind = classifyStripe(se)
		if se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden {
			// Stripe echoes a masked key in authentication errors; say
			// nothing about the key at all.
			e.Message = fmt.Sprintf("credentials rejected (HTTP %d)", se.HTTPStatusCode)
		} else {
			e.Message = sanitize(se.Msg)
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.Kind = ErrUnavailable
		e.Message = sanitize(contextErrText(err))
	default:
		var ne net.Error
		if errors.As(err, &ne) {
			e.Kind = ErrUnavailable
			e.Message = "network error: " + sanitize(ne.Error())
		} else {
			e.Kind = ErrUnavailable
			e.Message = sanitize(err.Error())
		}
	}
	return e
}

func contextErrText(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "deadline exceeded"
	}
	return "canceled"
}

func classifyStripe(se *stripe.Error) error {
	switch {
	case se.Code == stripe.ErrorCodeResourceMissing || se.HTTPStatusCode == http.StatusNotFound:
		return ErrNotFound
	case se.Type == stripe.ErrorTypeIdempotency || se.HTTPStatusCode == http.StatusConflict:
		return ErrConflict
	case se.HTTPStatusCode == http.StatusTooManyRequests,
		se.HTTPStatusCode == http.StatusUnauthorized,
		se.HTTPStatusCode == http.StatusForbidden,
		se.HTTPStatusCode >= 500,
		se.Type == stripe.ErrorTypeAPI:
		return ErrUnavailable
	case se.HTTPStatusCode == 0:
		return ErrUnavailable
	default:
		return ErrInvalid
	}
}
