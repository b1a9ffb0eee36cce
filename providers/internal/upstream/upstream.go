// Package upstream holds the error vocabulary shared by the provider API clients
// (Authentik, oCIS, Stalwart): a [Kind] classifying a failed upstream call, the
// per-client sentinel errors matched with errors.Is, the common layout of an
// error message, [ToSDK], which maps a client error onto a plugins/sdk error, and
// the JSON request plumbing the clients share ([NewJSONRequest], [TransportError]).
package upstream

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dezky/platform/plugins/sdk"
)

// Kind classifies an upstream failure independently of the HTTP status.
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

// Sentinels are one client's sentinel errors, one per Kind, matched by errors.Is
// against that client's errors of the same Kind.
type Sentinels struct {
	NotFound, Conflict, InUse, Unavailable, Invalid, Unauthorized error
}

// NewSentinels returns sentinel errors whose messages start with system, e.g.
// "authentik: not found".
func NewSentinels(system string) Sentinels {
	return Sentinels{
		NotFound:     errors.New(system + ": not found"),
		Conflict:     errors.New(system + ": conflict"),
		InUse:        errors.New(system + ": in use"),
		Unavailable:  errors.New(system + ": unavailable"),
		Invalid:      errors.New(system + ": invalid request"),
		Unauthorized: errors.New(system + ": unauthorized"),
	}
}

// Match reports whether target is the sentinel for kind; clients' Error.Is
// methods delegate to it.
func (s Sentinels) Match(kind Kind, target error) bool {
	switch target {
	case nil:
		return false
	case s.NotFound:
		return kind == KindNotFound
	case s.Conflict:
		return kind == KindConflict
	case s.InUse:
		return kind == KindInUse
	case s.Unavailable:
		return kind == KindUnavailable
	case s.Invalid:
		return kind == KindInvalid
	case s.Unauthorized:
		return kind == KindUnauthorized
	}
	return false
}

// Message is the common layout of a client error message:
//
//	<system>: <op>[ (<method> <path>)][: status <n>]: <kind>[ (<code>)][: <detail>][: <cause>]
type Message struct {
	System string // e.g. "ocis"
	Op     string // client operation, e.g. "create user"
	Method string // HTTP method; the "(method path)" part is left out when empty
	Path   string
	Status int // HTTP status; left out when 0
	Kind   Kind
	Code   string // upstream error code; left out when empty
	Detail string // upstream message; left out when empty
	Err    error  // cause; left out when nil
}

// String renders m.
func (m Message) String() string {
	var b strings.Builder
	b.WriteString(m.System)
	b.WriteString(": ")
	b.WriteString(m.Op)
	if m.Method != "" {
		fmt.Fprintf(&b, " (%s %s)", m.Method, m.Path)
	}
	if m.Status != 0 {
		fmt.Fprintf(&b, ": status %d", m.Status)
	}
	fmt.Fprintf(&b, ": %s", m.Kind)
	if m.Code != "" {
		b.WriteString(" (" + m.Code + ")")
	}
	if m.Detail != "" {
		b.WriteString(": " + m.Detail)
	}
	if m.Err != nil {
		b.WriteString(": " + m.Err.Error())
	}
	return b.String()
}

// Kinded is implemented by the clients' error types.
type Kinded interface {
	error
	UpstreamKind() Kind
}

// KindOf returns the Kind of the first error in err's chain that implements
// [Kinded], or KindUnknown.
func KindOf(err error) Kind {
	if e, ok := errors.AsType[Kinded](err); ok {
		return e.UpstreamKind()
	}
	return KindUnknown
}

// ToSDK maps a client error onto an sdk error code: not found, conflict, in use,
// invalid and unavailable keep their meaning, anything else (unauthorized
// included) becomes INTERNAL. nil and errors that already are *sdk.Error are
// returned unchanged.
func ToSDK(err error) error {
	if err == nil {
		return nil
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		return err
	}
	switch KindOf(err) {
	case KindNotFound:
		return sdk.Errorf(sdk.CodeNotFound, "%w", err)
	case KindConflict:
		return sdk.Errorf(sdk.CodeConflict, "%w", err)
	case KindInUse:
		return sdk.Errorf(sdk.CodeInUse, "%w", err)
	case KindInvalid:
		return sdk.Errorf(sdk.CodeInvalid, "%w", err)
	case KindUnavailable:
		return sdk.Errorf(sdk.CodeUnavailable, "%w", err)
	}
	return sdk.Errorf(sdk.CodeInternal, "%w", err)
}
