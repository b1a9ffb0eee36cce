package server

import (
	"net/netip"
	"time"
)

// Guards are the limits and trust settings of the GraphQL endpoint. The
// zero value is the documented default of each field.
type Guards struct {
	// DisableIntrospection refuses schema introspection (__schema, __type)
	// to everyone. Otherwise signed-in callers may introspect; anonymous
	// callers never may.
	DisableIntrospection bool
	// SubscriptionRecheck is how often a WebSocket connection re-checks its
	// user's account and roles; zero means DefaultSubscriptionRecheck.
	SubscriptionRecheck time.Duration
	// MaxBodyBytes caps a /query request body; zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RequestTimeout bounds one HTTP GraphQL request; zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// TrustedProxies are the peers whose forwarding headers
	// (X-Forwarded-For, Forwarded) are believed. Empty: none.
	TrustedProxies []netip.Prefix
}

// Defaults of Guards.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultRequestTimeout = 30 * time.Second
)
