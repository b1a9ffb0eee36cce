package server

import (
	"errors"
	"strings"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
)

// fromDB maps an error from the data layer to an application error, the
// one place where ent and driver errors become codes:
//   - an application error already in the chain is returned as is;
//   - privacy denials are FORBIDDEN, missing rows NOT_FOUND, validation
//     failures BAD_USER_INPUT (with the field);
//   - unique violations are CONFLICT and other constraint violations
//     (foreign keys) BAD_USER_INPUT, decided by the driver's error code;
//   - connection-level database failures are UNAVAILABLE: the request may
//     be retried (with the same Idempotency-Key).
//
// The object kind in messages comes from apperr.About, "object" without
// one. ok is false for anything else (an INTERNAL error).
func fromDB(err error) (ae *apperr.Error, ok bool) {
	if err == nil {
		return nil, false
	}
	if ae, ok := apperr.As(err); ok {
		return ae, true
	}
	what := "object"
	var se *apperr.SubjectError
	if errors.As(err, &se) {
		what = se.Subject
	}
	var ve *ent.ValidationError
	switch {
	case errors.Is(err, privacy.Deny):
		return &apperr.Error{Code: apperr.Forbidden, Message: "not allowed", Err: err}, true
	case ent.IsNotFound(err):
		return &apperr.Error{Code: apperr.NotFound, Message: what + " not found", Err: err}, true
	case errors.As(err, &ve):
		return &apperr.Error{Code: apperr.BadUserInput, Field: camel(ve.Name), Message: "invalid value for " + camel(ve.Name), Err: err}, true
	case db.IsUniqueViolation(err):
		return &apperr.Error{Code: apperr.Conflict, Message: what + " already exists", Err: err}, true
	case ent.IsConstraintError(err):
		return &apperr.Error{Code: apperr.BadUserInput, Message: "invalid reference", Err: err}, true
	case db.IsUnavailable(err):
		return unavailable(err), true
	}
	return nil, false
}

// classify returns the application code of err (INTERNAL when fromDB
// does not know it).
func classify(err error) apperr.Code {
	if ae, ok := fromDB(err); ok {
		return ae.Code
	}
	return apperr.Internal
}

// unavailable is the answer to a connection-level database failure.
func unavailable(err error) *apperr.Error {
	return &apperr.Error{Code: apperr.Unavailable, Message: "database temporarily unavailable, retry with the same Idempotency-Key", Err: err}
}

// dbFailureCode is the code for a failed database step outside a resolver
// (transaction open/commit, idempotency lookups): UNAVAILABLE for
// connection-level failures, INTERNAL otherwise.
func dbFailureCode(err error) (apperr.Code, string) {
	if db.IsUnavailable(err) {
		return apperr.Unavailable, unavailable(err).Message
	}
	return apperr.Internal, "internal error"
}

// camel turns snake_case column names into the GraphQL field spelling.
func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
