package conformance

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/dezky/platform/plugins/sdk"
)

type options struct {
	prefix         string
	stateless      bool
	mailWebhook    *sdk.Webhook
	billingWebhook *sdk.Webhook
	dnsZone        string
	parallel       int
	protocols      *[]int // set by Check to receive the probed versions
}

// Option tunes a suite.
type Option func(*options)

// WithPrefix sets the prefix of every name the suite creates (default: a
// random "cf" + hex string per run). Use only letters, digits and dashes.
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// Stateless skips the checks that need the upstream to keep state between
// calls: same ID on re-create, NOT_FOUND for unknown or deleted objects,
// and read-back of written fields.
func Stateless() Option { return func(o *options) { o.stateless = true } }

// WithMailWebhook gives RunMail a correctly signed webhook that must parse
// into at least one event; the suite also checks that a tampered body is
// rejected with INVALID.
func WithMailWebhook(h sdk.Webhook) Option { return func(o *options) { o.mailWebhook = &h } }

// WithBillingWebhook is WithMailWebhook for RunBilling.
func WithBillingWebhook(h sdk.Webhook) Option { return func(o *options) { o.billingWebhook = &h } }

// WithDNSZone enables the RFC 2136 checks of RunDNS in the given hosted
// zone; a provider answering UNSUPPORTED is then reported as skipped.
func WithDNSZone(zone string) Option { return func(o *options) { o.dnsZone = zone } }

// WithParallel sets how many calls the concurrency checks make at once
// (default 8).
func WithParallel(n int) Option { return func(o *options) { o.parallel = max(n, 1) } }

func apply(opts []Option) options {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	o := options{prefix: "cf" + hex.EncodeToString(b), parallel: 8}
	for _, fn := range opts {
		fn(&o)
	}
	return o
}
