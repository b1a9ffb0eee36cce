// Package stalwartapi is a small typed client for Stalwart mail server 0.16
// management, plus parsers for what Stalwart publishes: the per-domain DNS zone
// file and signed telemetry webhooks.
//
// Contract (Stalwart 0.16; the REST /api/principal management of ≤0.15 no longer
// exists):
//
//   - The JMAP session is discovered at GET /.well-known/jmap; management calls are
//     JMAP requests POSTed to the session's apiUrl (normally /jmap/) using the
//     capabilities "urn:ietf:params:jmap:core" and "urn:stalwart:jmap", against the
//     session's primary account for "urn:stalwart:jmap". The apiUrl path is resolved
//     against the configured base URL so a proxy or internal listener keeps working.
//   - Authentication is "Authorization: Bearer <api key>" or HTTP Basic.
//   - Objects are x:Domain, x:Account (@type "User"), x:DkimSignature, x:WebHook
//     with the methods /get, /set and /query. Set failures come back per object as
//     SetErrors: primaryKeyViolation (duplicate → KindConflict), objectIsLinked
//     (still referenced, e.g. a domain used by accounts → KindInUse), notFound,
//     invalidForeignKey / validationFailed / invalidProperties (KindInvalid).
//   - Creating a domain with the default Automatic DKIM management schedules DKIM key
//     generation; keys appear asynchronously, so the DNS records read right after
//     creation may lack the DKIM TXT record ([Domain.DKIMPending]).
//   - The records to publish are read from the domain's server-computed "dnsZoneFile"
//     property (BIND syntax) and parsed by [ParseZoneFile].
//   - Accounts are created as {"@type":"User","name":"<local part>","domainId":…};
//     the mailbox address is "<name>@<domain>". Freezing a mailbox replaces its
//     permissions with {"@type":"Merge","disabledPermissions":{"authenticate":true}}
//     (credentials are untouched, so unfreezing restores the original password);
//     unfreezing sets {"@type":"Inherit"}.
//   - DMARC is published by the domain owner in DNS; Stalwart's zone file proposes
//     "v=DMARC1; p=reject; …". [ApplyDMARC] replaces that record with the tenant's
//     chosen policy in the record set handed to the DNS step.
//   - Webhooks are batched {"events":[{id,createdAt,type,data}]} POSTs signed with
//     "X-Signature: base64(HMAC-SHA256(key, raw body))" — no timestamp, no replay
//     protection, so consumers dedupe on the event id. See [VerifySignature] and
//     [ParseWebhook].
//
// Errors are *[Error] values carrying HTTP status, the JMAP error type and a [Kind];
// match them with errors.Is against [ErrNotFound], [ErrConflict], [ErrInUse],
// [ErrUnavailable], [ErrInvalid] and [ErrUnauthorized]. Error strings never contain
// credentials, passwords or key material.
package stalwartapi
