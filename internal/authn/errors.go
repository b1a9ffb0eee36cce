package authn

import "errors"

// ErrUnauthenticated is wrapped by every error [Verifier.Verify] returns.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrIssuerUnavailable is additionally wrapped when a token could not be
// verified because its (configured) issuer's discovery document could not be
// fetched or was unusable. It signals a server-side or upstream problem rather
// than a bad token.
var ErrIssuerUnavailable = errors.New("issuer unavailable")

// Rejection reasons. They are fixed strings so that error texts never carry
// token material or attacker-controlled claim values.
const (
	reasonMissingToken      = "missing token"
	reasonTokenTooLarge     = "token too large"
	reasonMalformed         = "malformed token"
	reasonUnsupportedAlg    = "unsupported signing algorithm"
	reasonUnknownIssuer     = "unknown issuer"
	reasonIssuerUnavailable = "issuer unavailable"
	reasonCanceled          = "verification interrupted"
	reasonExpired           = "token expired"
	reasonNoExpiry          = "token has no expiry"
	reasonNotYetValid       = "token not yet valid"
	reasonInvalid           = "invalid token"
	reasonInvalidClaims     = "invalid claims"
	reasonMissingSubject    = "missing subject"
	reasonAudience          = "audience not accepted"
)

// rejection is the error type returned by Verify. Its text is only the fixed
// reason; the cause stays available to errors.Is and errors.As.
type rejection struct {
	reason string
	wraps  []error
}

func reject(reason string, causes ...error) error {
	wraps := make([]error, 0, 1+len(causes))
	wraps = append(wraps, ErrUnauthenticated)
	for _, c := range causes {
		if c != nil {
			wraps = append(wraps, c)
		}
	}
	return &rejection{reason: reason, wraps: wraps}
}

func (r *rejection) Error() string { return "unauthenticated: " + r.reason }

func (r *rejection) Unwrap() []error { return r.wraps }
