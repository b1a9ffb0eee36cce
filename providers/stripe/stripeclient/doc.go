// Package stripeclient is Dezky's typed billing client for Stripe, built on
// stripe-go v76 and therefore speaking Stripe API version 2023-10-16
// (stripe.APIVersion).
//
// # Contract
//
//   - Every call takes a context; its deadline and cancellation apply to the
//     HTTP request. The client never retries on its own (MaxNetworkRetries is
//     0 unless configured): retries belong to the caller's durable jobs, and
//     every creating call is safe to repeat.
//   - Ensure operations are idempotent by a stable external key chosen by the
//     caller (for example a tenant ID). The key is stored in the object's
//     metadata under MetadataKey, the object is looked up before it is created
//     (customer and subscription search, product by ID, price by lookup_key),
//     and the create request carries an Idempotency-Key derived from the key,
//     so a crash between create and persist converges on the same object.
//   - Prices are immutable upstream: EnsurePrice mints a new Price whenever the
//     amount, currency or interval for a lookup key changes, moves the lookup
//     key onto it and reports the replaced price so subscriptions can be moved
//     with MovePrice (proration_behavior none).
//   - Subscriptions are invoiced (collection_method send_invoice with
//     days_until_due); pausing uses pause_collection, resuming clears it.
//   - Errors are *Error values that match one of ErrNotFound, ErrConflict,
//     ErrInvalid or ErrUnavailable with errors.Is. Messages never contain API
//     keys, webhook secrets or client secrets.
//   - Webhooks are verified with Stripe's scheme (Stripe-Signature
//     t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>, 5-minute tolerance,
//     any matching v1 accepted during secret rotation) and returned as
//     normalized Events. Events carrying another API version are accepted by
//     default because normalization reads only version-stable fields; set
//     WebhookVerifier.StrictAPIVersion to reject them.
package stripeclient
