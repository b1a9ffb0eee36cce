// Package webhooks delivers audit events to customers' HTTP endpoints,
// signed per the Standard Webhooks specification.
//
// # Endpoints
//
// An endpoint has a scope that decides which audit events it may receive,
// by the visibility rules of the audit query: TENANT (the events of one
// tenant; created by its admins or its partner's staff), PARTNER (the
// events of one partner; its staff) and PLATFORM (every event; operators).
// eventTypes selects among them by action: an exact action
// ("tenant.created"), a prefix ending in ".*" ("tenant.*"), or "*".
//
// # Secrets
//
// Each endpoint has a signing secret, "whsec_" + base64 of 32 random
// bytes, shown once by createWebhookEndpoint and rotateWebhookSecret and
// never again: not in queries, logs, audit rows, nor in an idempotent
// replay of the mutation (the server stores no one-time field; a replay
// answers signingSecret null, and the caller rotates). Signing needs the
// secret itself, so it is stored encrypted with AES-256-GCM under the
// server's webhook key (a key file; generated in the data dir at first
// start unless one is configured; replicas sharing a database must share
// it). After a rotation the previous secret keeps signing beside the new
// one for the grace period, so receivers can switch without a gap.
//
// # Messages
//
// A delivery is a POST with the JSON body
//
//	{"type":"<audit action>","timestamp":"<event time, RFC 3339>","data":<the audit export line>}
//
// where data is the event exactly as `dezky audit export` writes it
// (canonical members plus hash), so a receiver can check it against the
// chain. Headers: webhook-id ("msg_<seq>", the same for every attempt and
// redelivery of an event), webhook-timestamp (the attempt's Unix time)
// and webhook-signature ("v1,<base64 HMAC-SHA256 of id.timestamp.body>",
// one per valid secret, space-separated). A 2xx answer is a success;
// redirects are not followed.
//
// # Delivery
//
// Deliveries are driven from the audit chain by seq: each endpoint keeps a
// cursor (the seq up to which events were delivered or skipped), so a
// restart, a crash or another replica resumes exactly there:
// at-least-once, in seq order per endpoint. Each endpoint is worked by its
// own river job (unique per endpoint, so never two at once), which
// delivers the events after the cursor one by one and yields to other jobs
// after a time budget; a slow or failing endpoint occupies only its own
// job. A loop on every replica inserts the job of each endpoint behind the
// chain head when the head moves (and every PollInterval). A failed
// attempt is retried with exponential backoff; an endpoint still failing
// after the retry horizon (about a day) is disabled with the audit event
// webhook.endpoint_disabled, and resumes at its cursor when re-enabled.
// sendTestWebhook and redeliverWebhook send one message once, as their own
// jobs, without moving the cursor.
//
// # Targets
//
// Loopback, link-local, private, carrier-grade NAT, unspecified and
// multicast targets are refused when an endpoint is saved and, after name
// resolution, when a delivery dials (against DNS rebinding), unless the
// server allows private targets (--webhooks-allow-private; the demo sets
// it). Outbound requests use no proxy.
package webhooks
