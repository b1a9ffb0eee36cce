// Package authn authenticates API callers by verifying OIDC bearer tokens.
//
// # Contract
//
// A [Verifier] accepts a signed JWT (an Authentik access or ID token, or one
// minted by the development issuer in package devissuer) when all of these
// hold:
//
//   - it is a compact JWS whose "alg" is RS256, ES256 or EdDSA (never "none",
//     never a symmetric algorithm) and, once the issuer's discovery document is
//     known, one the issuer advertises in id_token_signing_alg_values_supported;
//   - its "iss" claim is exactly one of [Config.Issuers] (no normalisation: an
//     Authentik per-application issuer ends with a slash and must be configured
//     with it);
//   - its signature verifies against a key from that issuer's JWKS, fetched by
//     go-oidc's remote key set from the jwks_uri of the issuer's discovery
//     document (<issuer>/.well-known/openid-configuration);
//   - it has not expired ("exp" is required, no leeway), its "nbf", when present,
//     is not more than five minutes in the future (go-oidc's clock-skew
//     allowance), and its "iat", when present, is not more than five minutes in
//     the future either;
//   - at least one of its "aud" values is one of [Config.Audiences];
//   - it has a non-empty "sub".
//
// The issuer is chosen by peeking at the unverified "iss" claim; the token is
// then verified in full by that issuer's go-oidc verifier, which checks "iss"
// again against the issuer it was built for. A token naming an issuer that is
// not configured is rejected without any network access, so callers cannot make
// the server fetch arbitrary URLs.
//
// # Discovery and caching
//
// [NewVerifier] performs no network I/O. Each issuer's discovery document is
// fetched on the first token that names it; the result is cached for the life of
// the Verifier, and concurrent first requests share a single fetch. A failed
// discovery is not cached for good: requests within a short back-off window fail
// fast with [ErrIssuerUnavailable], and the next request after it tries again.
// The fetch is detached from the cancellation of the request that triggered it
// (a client hanging up does not fail it for everybody) and bounded by its own
// timeout; a request whose context ends while waiting returns at once.
// Signing keys are cached by go-oidc and re-fetched when a token carries a key
// ID the cache does not know, which is how issuer key rotation is picked up.
//
// All HTTP goes through [Config.HTTPClient]; when nil, a client with a
// conservative overall timeout is used. A caller-supplied client should have a
// timeout too, because key fetches run in the background and a hung fetch
// delays key rotation.
//
// # Errors
//
// Every rejection returned by [Verifier.Verify] satisfies
// errors.Is(err, [ErrUnauthenticated]). Its Error text is a short, fixed reason
// ("token expired", "unknown issuer", "audience not accepted", ...) that never
// contains the token or claim values, so it is safe to log and to return to the
// client. The underlying cause, when there is one, stays reachable through
// errors.Is / errors.As for server-side diagnostics (for example
// *oidc.TokenExpiredError, or context.Canceled). When the issuer's discovery
// document could not be fetched the error also satisfies
// errors.Is(err, [ErrIssuerUnavailable]), letting an HTTP layer answer 503
// rather than 401.
//
// [BearerToken] extracts the token from an "Authorization: Bearer <token>"
// header (scheme matched case-insensitively, RFC 6750 token syntax).
package authn
