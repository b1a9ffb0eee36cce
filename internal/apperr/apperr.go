// Package apperr is the one error vocabulary of the platform. Every boundary
// (GraphQL, HTTP, gRPC) maps from these codes; internal details never reach a
// caller: anything that is not an *Error is reported as INTERNAL with a
// generic message and logged by the boundary.
package apperr

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code (GraphQL extensions.code).
type Code string

// The codes. They are part of the public API: never rename one.
const (
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	NotFound        Code = "NOT_FOUND"
	BadUserInput    Code = "BAD_USER_INPUT"
	Conflict        Code = "CONFLICT"
	Unavailable     Code = "UNAVAILABLE"
	Internal        Code = "INTERNAL"
)

// Error is an application error safe to show to the caller.
type Error struct {
	Code    Code
	Message string
	// Field names the offending input field for BAD_USER_INPUT, if known.
	Field string
	// Err is the underlying cause; it is never shown to callers.
	Err error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a BAD_USER_INPUT error about field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf returns a NOT_FOUND error.
func NotFoundf(format string, args ...any) *Error { return New(NotFound, format, args...) }

// Conflictf returns a CONFLICT error.
func Conflictf(format string, args ...any) *Error { return New(Conflict, format, args...) }

// Forbiddenf returns a FORBIDDEN error.
func Forbiddenf(format string, args ...any) *Error { return New(Forbidden, format, args...) }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns the code of err: the *Error's code, or INTERNAL.
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}
