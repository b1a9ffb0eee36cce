package apperr

import "github.com/dezky/platform/plugins/sdk"

// Upstream maps a provider plugin's error for the caller: INVALID to
// BAD_USER_INPUT, CONFLICT and NOT_FOUND to themselves, anything else to
// UNAVAILABLE. what names the capability ("billing"). The plugin's
// message stays in Err, never shown.
func Upstream(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case sdk.IsInvalid(err):
		return &Error{Code: BadUserInput, Message: "the " + what + " provider refused the request", Err: err}
	case sdk.IsConflict(err):
		return &Error{Code: Conflict, Message: "the " + what + " provider reports a conflict", Err: err}
	case sdk.IsNotFound(err):
		return &Error{Code: NotFound, Message: "not found at the " + what + " provider", Err: err}
	default:
		return UpstreamUnavailable(what, err)
	}
}

// UpstreamUnavailable is the UNAVAILABLE error of a capability without a
// working plugin (none configured, or failing).
func UpstreamUnavailable(what string, err error) error {
	if sdk.IsUnsupported(err) {
		return &Error{Code: Unavailable, Message: "no " + what + " provider is configured", Err: err}
	}
	return &Error{Code: Unavailable, Message: "the " + what + " provider is unavailable", Err: err}
}
