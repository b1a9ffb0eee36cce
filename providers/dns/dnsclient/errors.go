package dnsclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/miekg/dns"
)

// Error kinds. Every error returned by the client matches exactly one of
// them with errors.Is.
var (
	// ErrNotFound: the name does not exist (NXDOMAIN).
	ErrNotFound = errors.New("not found")
	// ErrConflict: an update prerequisite failed (YXDOMAIN, YXRRSET, NXRRSET).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input or the zone is not acceptable (FORMERR, NOTZONE,
	// malformed names or values).
	ErrInvalid = errors.New("invalid request")
	// ErrRefused: the server refused the request or its TSIG signature
	// (REFUSED, NOTAUTH, bad signature, unknown key).
	ErrRefused = errors.New("refused")
	// ErrUnavailable: no resolver or server gave a usable answer (network
	// errors, timeouts, SERVFAIL).
	ErrUnavailable = errors.New("unavailable")
)

// Error is the error type returned by Client methods.
type Error struct {
	Op   string
	Kind error
	// Name and Type describe the query or updated record, when relevant.
	Name string
	Type RecordType
	// Server is the resolver or update server of the last attempt.
	Server string
	// Rcode is the DNS response code of the last answer, -1 when none.
	Rcode   int
	Message string

	cause error
}

// Error implements error.
func (e *Error) Error() string {
	s := fmt.Sprintf("dns: %s", e.Op)
	if e.Name != "" {
		s += " " + e.Name
		if e.Type != "" {
			s += " " + string(e.Type)
		}
	}
	s += ": " + e.Kind.Error()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap exposes the kind and the underlying cause.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

func invalidf(op, format string, args ...any) error {
	return &Error{Op: op, Kind: ErrInvalid, Rcode: -1, Message: fmt.Sprintf(format, args...)}
}

// rcodeKind maps a DNS response code to an error kind.
func rcodeKind(rcode int) error {
	switch rcode {
	case dns.RcodeNameError:
		return ErrNotFound
	case dns.RcodeYXDomain, dns.RcodeYXRrset, dns.RcodeNXRrset:
		return ErrConflict
	case dns.RcodeFormatError, dns.RcodeNotZone:
		return ErrInvalid
	case dns.RcodeRefused, dns.RcodeNotAuth:
		return ErrRefused
	default:
		return ErrUnavailable
	}
}

func rcodeText(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rcode)
}

// isTSIGError reports whether err is a TSIG verification failure.
func isTSIGError(err error) bool {
	return errors.Is(err, dns.ErrSig) || errors.Is(err, dns.ErrSecret) ||
		errors.Is(err, dns.ErrKeyAlg) || errors.Is(err, dns.ErrTime) || errors.Is(err, dns.ErrNoSig)
}

func ctxText(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "deadline exceeded"
	}
	return "canceled"
}
