// Package stripetest runs stripe-mock, Stripe's OpenAPI-validating mock
// server, for tests, and records what a client sends to it.
//
// # Contract
//
//   - Start launches a private stripe-mock process on loopback ephemeral ports
//     (-http-addr 127.0.0.1:0 -https-addr 127.0.0.1:0) with
//     -strict-version-check, waits until it listens and answers, and stops it
//     in tb.Cleanup. Every test gets its own process; nothing is shared.
//   - The binary must serve the API version stripe-go v76 speaks
//     (stripe.APIVersion, 2023-10-16); under -strict-version-check any other
//     version rejects every request. MockVersion is a stripe-mock release
//     bundling that version; later releases bundle later versions (v0.203.0
//     serves 2026-08-26.dahlia) and are passed over when found.
//   - The binary is looked up, in order: $STRIPE_MOCK_BIN, the versioned tool
//     directory under the user cache directory (see ToolDir), PATH, then
//     $(go env GOBIN) and $(go env GOPATH)/bin. Each candidate is started and
//     probed once per test process.
//   - When no compatible binary is found and DEZKY_INSTALL_TOOLS=1, Start runs
//     `go install github.com/stripe/stripe-mock@<MockVersion>` with GOBIN set
//     to ToolDir, then uses that binary. Otherwise the test is skipped with
//     instructions, except when CI=true, where it fails instead.
//   - stripe-mock is stateless: it validates each request against the OpenAPI
//     specification and answers with fixtures. Tests should assert on request
//     validation and on the client's mapping, not on stored state. Recorder
//     captures the requests (method, path, form, headers) on their way to the
//     mock and can answer selected requests itself to simulate state or
//     upstream errors.
package stripetest
