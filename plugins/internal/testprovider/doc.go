// Package testprovider is the reference in-memory provider. It implements
// all five capabilities with the full contract of plugins/sdk, passes every
// plugins/conformance suite, and is what the host tests launch (built from
// ./cmd/dezky-provider-test).
//
// Fault injection for tests, by passing a special ID to Identity.GetUser:
//
//	fault:panic        the method panics (the SDK recovers it)
//	fault:block        the method blocks until the call's context ends
//	fault:exit         the process exits at once (a crash)
//	fault:unavailable  returns UNAVAILABLE
//	fault:internal     returns a plain (untyped) error
//	fault:secret       returns INVALID with the "token" secret in the message
//
// Settings: "name" overrides the described name, "unhealthy" (any value)
// makes Health report unhealthy. Configure logs the setting and secret names
// (never values) on stderr; the setting "leak_secret_to_log" makes it also
// log the "token" secret value, which lets tests prove the host scrubs it.
//
// Webhooks (mail and billing) carry a JSON array of events in the body and
// the hex HMAC-SHA256 of the body under the "webhook_secret" secret in the
// X-Dezky-Signature header.
package testprovider
