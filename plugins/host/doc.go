// Package host runs Dezky provider plugins for the server.
//
// A Host discovers dezky-provider-<name> executables in a plugins
// directory (Discover), binds each capability to a plugin (Config), and
// supervises one process per bound plugin:
//
//   - Launch: go-plugin over gRPC with the SDK handshake; protocol versions
//     1 and 2 are offered through VersionedPlugins, so older plugins keep
//     loading. After the handshake the host calls Describe (the plugin
//     must serve every capability bound to it) and Configure with the
//     settings and secrets. Secrets are never logged: Secrets formats as
//     its keys only, and plugin output and recorded errors are scrubbed of
//     secret values.
//   - Logs: the plugin's stderr (and gRPC-synced stdout/stderr) is re-emitted
//     into the host's log/slog logger with plugin=<name>; JSON lines keep
//     their level and attributes.
//   - Calls: Identity, Mail, Storage, DNS and Billing return sdk interfaces
//     whose methods route through the supervisor. Every call gets a
//     deadline (Config.CallTimeout, or the caller's if shorter) and returns
//     *sdk.Error values wrapped with the plugin and operation names, so
//     sdk.IsNotFound and friends work on the result.
//   - Crashes: a running process is watched for exit (and checked at once
//     when a call fails with UNAVAILABLE). Calls in flight on a crashed
//     process fail with UNAVAILABLE, as do calls arriving while it is down
//     (they never wait for the restart). The dead go-plugin client is killed
//     (clients are single-use), its stale unix socket removed, and a new
//     process is launched after an exponential backoff (Config.Backoff).
//   - Circuit breaker: per plugin; Config.Breaker.Failures consecutive
//     failures (UNAVAILABLE or INTERNAL, including deadlines) open it and
//     calls then fail fast with UNAVAILABLE; after CoolDown one probe call
//     is let through (half-open) and its outcome closes or re-opens it.
//     Business errors (NOT_FOUND, CONFLICT, IN_USE, INVALID, UNSUPPORTED)
//     count as successes.
//   - Status and Health report per plugin: state, restarts, last error,
//     breaker state, consecutive failures and last call latency; Health
//     also calls each plugin's own upstream check.
package host
