package stalwartapi

import (
	"net/http"
	"strings"

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

var sentinels = upstream.NewSentinels("stalwart")

// Sentinels matched by errors.Is against an *Error of the same kind.
var (
	ErrNotFound     = sentinels.NotFound
	ErrConflict     = sentinels.Conflict
	ErrInUse        = sentinels.InUse
	ErrUnavailable  = sentinels.Unavailable
	ErrInvalid      = sentinels.Invalid
	ErrUnauthorized = sentinels.Unauthorized
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
	return upstream.Message{System: "stalwart", Op: e.Op, Status: e.Status,
		Kind: e.Kind, Code: e.Type, Detail: e.Description, Err: e.Err}.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's kind.
func (e *Error) Is(target error) bool { return sentinels.Match(e.Kind, target) }

// UpstreamKind returns e.Kind.
func (e *Error) UpstreamKind() Kind { return e.Kind }

// KindOf returns the Kind of err, or KindUnknown when no error in its chain
// is a client error.
func KindOf(err error) Kind { return upstream.KindOf(err) }

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
