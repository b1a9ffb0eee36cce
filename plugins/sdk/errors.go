package sdk

import (
	"errors"
	"fmt"
)

// Code classifies an Error. The codes cross the plugin boundary unchanged.
type Code string

// The error codes. Any error that is not an *Error is INTERNAL.
const (
	CodeNotFound    Code = "NOT_FOUND"
	CodeConflict    Code = "CONFLICT"
	CodeInUse       Code = "IN_USE"
	CodeUnavailable Code = "UNAVAILABLE"
	CodeInvalid     Code = "INVALID"
	// CodeUnauthenticated: a webhook could not be authenticated (no key
	// configured, or a missing, stale or non-matching signature).
	CodeUnauthenticated Code = "UNAUTHENTICATED"
	CodeUnsupported     Code = "UNSUPPORTED"
	CodeInternal        Code = "INTERNAL"
)

// Error is the typed error providers return and hosts receive. Providers
// return it (usually through Errorf) to classify a failure; the SDK carries
// Code and Message across gRPC as a status with an errdetails.ErrorInfo
// (Reason = Code, Domain = ErrorDomain) and rebuilds the same *Error on the
// host side. Cause is local only and never crosses the boundary.
type Error struct {
	Code    Code
	Message string
	Cause   error
}

// ErrorDomain is the errdetails.ErrorInfo domain of errors produced by this
// SDK.
const ErrorDomain = "plugin.dezky.io"

// Error implements error.
func (e *Error) Error() string {
	switch {
	case e.Message == "" && e.Cause != nil:
		return fmt.Sprintf("%s: %v", e.Code, e.Cause)
	case e.Message == "":
		return string(e.Code)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the local cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is reports whether target is an *Error with the same code, so
// errors.Is(err, &sdk.Error{Code: sdk.CodeNotFound}) works.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Errorf builds an *Error with a formatted message. A %w verb sets Cause.
func Errorf(code Code, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Cause: errors.Unwrap(err)}
}

// NotFound, Conflict, InUse, Unavailable, Invalid and Unsupported are
// shorthands for Errorf with the matching code.
func NotFound(format string, args ...any) error { return Errorf(CodeNotFound, format, args...) }

// Conflict builds a CONFLICT error.
func Conflict(format string, args ...any) error { return Errorf(CodeConflict, format, args...) }

// InUse builds an IN_USE error.
func InUse(format string, args ...any) error { return Errorf(CodeInUse, format, args...) }

// Unavailable builds an UNAVAILABLE error.
func Unavailable(format string, args ...any) error {
	return Errorf(CodeUnavailable, format, args...)
}

// Invalid builds an INVALID error.
func Invalid(format string, args ...any) error { return Errorf(CodeInvalid, format, args...) }

// Unauthenticated builds an UNAUTHENTICATED error.
func Unauthenticated(format string, args ...any) error {
	return Errorf(CodeUnauthenticated, format, args...)
}

// Unsupported builds an UNSUPPORTED error.
func Unsupported(format string, args ...any) error {
	return Errorf(CodeUnsupported, format, args...)
}

// ErrorCode returns the code of the first *Error in err's chain, INTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsNotFound reports whether err carries CodeNotFound.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }

// IsConflict reports whether err carries CodeConflict.
func IsConflict(err error) bool { return ErrorCode(err) == CodeConflict }

// IsInUse reports whether err carries CodeInUse.
func IsInUse(err error) bool { return ErrorCode(err) == CodeInUse }

// IsUnavailable reports whether err carries CodeUnavailable.
func IsUnavailable(err error) bool { return ErrorCode(err) == CodeUnavailable }

// IsInvalid reports whether err carries CodeInvalid.
func IsInvalid(err error) bool { return ErrorCode(err) == CodeInvalid }

// IsUnauthenticated reports whether err carries CodeUnauthenticated.
func IsUnauthenticated(err error) bool { return ErrorCode(err) == CodeUnauthenticated }

// IsUnsupported reports whether err carries CodeUnsupported.
func IsUnsupported(err error) bool { return ErrorCode(err) == CodeUnsupported }
