package stalwartapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kind classifies an upstream failure.
type Kind int

// Error kinds.
const (
	KindUnknown Kind = iota
	KindNotFound
	KindConflict
	KindInUse
	KindUnavailable
	KindInvalid
	KindUnauthorized
)

func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindInUse:
		return "in use"
	case KindUnavailable:
		return "unavailable"
	case KindInvalid:
		return "invalid"
	case KindUnauthorized:
		return "unauthorized"
	}
	return "unknown"
}

// Sentinels matched by errors.Is against an *Error of the same kind.
var (
	ErrNotFound     = errors.New("stalwart: not found")
	ErrConflict     = errors.New("stalwart: conflict")
	ErrInUse        = errors.New("stalwart: in use")
	ErrUnavailable  = errors.New("stalwart: unavailable")
	ErrInvalid      = errors.New("stalwart: invalid request")
	ErrUnauthorized = errors.New("stalwart: unauthorized")
)

// Error is a failed Stalwart call: an HTTP-level failure (Status set), a JMAP
// method error or a per-object SetError (Type set).
type Error struct {
	Op          string
	Status      int    // HTTP status (0 if no response)
	Type        string // JMAP error type, e.g. "primaryKeyViolation"
	Description string // upstream description, truncated
	Kind        Kind
	Body        []byte // truncated upstream body (not part of Error())
	Err         error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("stalwart: ")
	b.WriteString(e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d", e.Status)
	}
	fmt.Fprintf(&b, ": %s", e.Kind)
	if e.Type != "" {
		b.WriteString(" (" + e.Type + ")")
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's kind.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Kind == KindNotFound
	case ErrConflict:
		return e.Kind == KindConflict
	case ErrInUse:
		return e.Kind == KindInUse
	case ErrUnavailable:
		return e.Kind == KindUnavailable
	case ErrInvalid:
		return e.Kind == KindInvalid
	case ErrUnauthorized:
		return e.Kind == KindUnauthorized
	}
	return false
}

// KindOf returns the Kind of err (KindUnknown when err is not an *Error).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindUnauthorized
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusConflict:
		return KindConflict
	case status == http.StatusTooManyRequests || status >= 500:
		return KindUnavailable
	case status >= 400:
		return KindInvalid
	}
	return KindUnknown
}

// kindForType maps JMAP method-error and SetError types.
func kindForType(t string) Kind {
	switch t {
	case "primaryKeyViolation", "alreadyExists", "fieldAlreadyExists":
		return KindConflict
	case "objectIsLinked":
		return KindInUse
	case "notFound":
		return KindNotFound
	case "forbidden", "accountNotFound", "accountReadOnly":
		return KindUnauthorized
	case "serverUnavailable", "serverFail", "serverPartialFail", "rateLimit":
		return KindUnavailable
	case "":
		return KindUnknown
	}
	return KindInvalid
}

// scrub removes anything that looks like key material from an upstream message.
func scrub(s string) string {
	if i := strings.Index(s, "-----BEGIN"); i >= 0 {
		s = s[:i] + "[redacted]"
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
