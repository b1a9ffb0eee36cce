package ocisapi

import (
	"encoding/json"
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

// Sentinels matched by errors.Is.
var (
	ErrNotFound     = errors.New("ocis: not found")
	ErrConflict     = errors.New("ocis: conflict")
	ErrInUse        = errors.New("ocis: in use")
	ErrUnavailable  = errors.New("ocis: unavailable")
	ErrInvalid      = errors.New("ocis: invalid request")
	ErrUnauthorized = errors.New("ocis: unauthorized")
)

// Error is a failed oCIS call.
type Error struct {
	Op      string
	Method  string
	Path    string
	Status  int
	Code    string // OData error code, e.g. "itemNotFound"
	Message string // OData error message (truncated)
	Kind    Kind
	Body    []byte // truncated upstream body (not part of Error())
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ocis: ")
	b.WriteString(e.Op)
	if e.Method != "" {
		fmt.Fprintf(&b, " (%s %s)", e.Method, e.Path)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d", e.Status)
	}
	fmt.Fprintf(&b, ": %s", e.Kind)
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
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

// ODataError is the decoded OData error body.
type ODataError struct {
	Code       string         `json:"code"`
	Message    string         `json:"message"`
	InnerError map[string]any `json:"innererror"`
}

// ParseODataError decodes {"error":{code,message,innererror}}.
func ParseODataError(body []byte) (ODataError, error) {
	var env struct {
		Error *ODataError `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ODataError{}, fmt.Errorf("decode odata error: %w", err)
	}
	if env.Error == nil || env.Error.Code == "" {
		return ODataError{}, errors.New("decode odata error: no error code")
	}
	return *env.Error, nil
}

func classify(status int, code string) Kind {
	switch code {
	case "itemNotFound":
		return KindNotFound
	case "nameAlreadyExists", "preconditionFailed", "resourceModified":
		return KindConflict
	case "itemIsLocked":
		return KindInUse
	case "serviceNotAvailable", "activityLimitReached":
		return KindUnavailable
	case "unauthenticated", "InvalidAuthenticationToken", "accessDenied":
		return KindUnauthorized
	}
	switch {
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		return KindConflict
	case status == http.StatusLocked:
		return KindInUse
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindUnauthorized
	case status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented:
		return KindUnavailable
	case status >= 400:
		return KindInvalid
	}
	return KindUnknown
}
