// Package sdk is everything a Dezky provider plugin imports.
//
// A provider is a separate executable named dezky-provider-<name>. Its main
// calls Serve with a value that implements Provider (Describe, Configure,
// Health) plus any subset of the capability interfaces Identity, Mail,
// Storage, DNS and Billing. Every method takes a context first and plain Go
// request/response structs; protobuf never appears in this API (the SDK
// converts to and from the plugins/proto packages internally).
//
// # Errors
//
// Providers classify failures with *Error and its codes NOT_FOUND,
// CONFLICT, IN_USE, UNAVAILABLE, INVALID, UNSUPPORTED and INTERNAL (use
// NotFound, Conflict, ... or Errorf). An error crosses the gRPC boundary as
// a status whose code matches (NotFound, AlreadyExists, FailedPrecondition,
// Unavailable, InvalidArgument, Unimplemented, Internal) and which carries
// an errdetails.ErrorInfo with Reason = the Code and Domain = ErrorDomain.
// The host side rebuilds the same *Error, so IsNotFound and friends work on
// both sides. Any other error arrives as INTERNAL with its message; a dead
// or unreachable plugin and an expired deadline arrive as UNAVAILABLE. A
// panic inside a provider method is recovered and returned as INTERNAL.
//
// # Idempotency
//
// Every create is an ensure keyed by a stable external key (group name,
// username, slug, domain, address, tenant key, external key): repeating it
// returns the existing object, also when the repeats arrive in parallel.
// Where the upstream has no atomic create-if-absent, serialize ensures per
// key with KeyLock. Each capability interface documents its full contract,
// which plugins/conformance checks.
//
// # Debugging
//
// With DebugEnv set (or a --debug argument) Serve runs the provider on its
// own and prints a reattach line for `dezky serve --plugin-reattach`, so the
// process can run under a debugger; see DebugEnv and ParseReattach.
//
// # Versions
//
// ProtocolVersion (2) is the protocol this SDK serves. Hosts list every
// version they speak in go-plugin's VersionedPlugins (HostPluginSets), so a
// host keeps loading plugins built against protocol 1. The handshake cookie
// (MagicCookieKey, MagicCookieValue) never changes.
//
// # Logging
//
// A plugin's stdout carries the go-plugin handshake; log only to stderr,
// preferably through Logger, whose JSON lines the host re-emits into its
// log/slog logger with plugin=<name>. Secrets passed to Configure must
// never be logged.
//
// HostPluginSets, Remote and FromRPCError are the host half of the
// protocol, used by plugins/host and plugins/conformance.
package sdk
