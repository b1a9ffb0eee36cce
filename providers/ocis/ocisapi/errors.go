package ocisapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/dezky/platform/providers/internal/upstream"
)

// Kind classifies an upstream failure.
type Kind = upstream.Kind

// Error kinds.
const (
	KindUnknown      = upstream.KindUnknown
	KindNotFound     = upstream.KindNotFound
	KindConflict     = upstream.KindConflict
	KindInUse        = upstream.KindInUse
	KindUnavailable  = upstream.KindUnavailable
	KindInvalid      = upstream.KindInvalid
	KindUnauthorized = upstream.KindUnauthorized
)

var sentinels = upstream.NewSentinels("ocis")

// Sentinels matched by errors.Is.
var (
	ErrNotFound     = sentinels.NotFound
	ErrConflict     = sentinels.Conflict
	ErrInUse        = sentinels.InUse
	ErrUnavailable  = sentinels.Unavailable
	ErrInvalid      = sentinels.Invalid
	ErrUnauthorized = sentinels.Unauthorized
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
	return upstream.Message{System: "ocis", Op: e.Op, Method: e.Method, Path: e.Path, Status: e.Status,
		Kind: e.Kind, Code: e.Code, Detail: e.Message, Err: e.Err}.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's kind.
func (e *Error) Is(target error) bool { return sentinels.Match(e.Kind, target) }

// UpstreamKind returns e.Kind.
func (e *Error) UpstreamKind() Kind { return e.Kind }

// KindOf returns the Kind of err, or KindUnknown when no error in its chain
// is a client error.
func KindOf(err error) Kind { return upstream.KindOf(err) }

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
