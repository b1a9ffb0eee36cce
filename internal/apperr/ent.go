package apperr

import (
	"errors"
	"strings"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/privacy"
)

// FromEnt maps an error from the data layer to an application error:
// privacy denials are FORBIDDEN, missing rows NOT_FOUND, validation failures
// BAD_USER_INPUT (with the field), unique violations CONFLICT. Other errors
// are returned unchanged (and so become INTERNAL at the boundary).
func FromEnt(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := As(err); ok {
		return err
	}
	var ve *ent.ValidationError
	switch {
	case errors.Is(err, privacy.Deny):
		return &Error{Code: Forbidden, Message: "not allowed", Err: err}
	case ent.IsNotFound(err):
		return &Error{Code: NotFound, Message: what + " not found", Err: err}
	case errors.As(err, &ve):
		return &Error{Code: BadUserInput, Field: camel(ve.Name), Message: "invalid value for " + camel(ve.Name), Err: err}
	case ent.IsConstraintError(err):
		if isUnique(err) {
			return &Error{Code: Conflict, Message: what + " already exists", Err: err}
		}
		return &Error{Code: BadUserInput, Message: "invalid reference", Err: err}
	}
	return err
}

func isUnique(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "unique") || strings.Contains(s, "duplicate")
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
