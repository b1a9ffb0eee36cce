// Package ingest brings the audit events of the upstream systems into the
// platform's audit trail, through the provider plugins and as the system
// viewer:
//
//   - identity: the identity plugin's event feed (sdk.Identity.ListEvents)
//     is pulled every Config.IdentityInterval (default 60 s);
//   - mail: the mail server pushes signed webhooks to POST /webhooks/mail
//     (MailHandler), verified by the mail plugin (sdk.Mail.ParseMailWebhook);
//   - storage: the storage service's audit log is tailed through the
//     storage plugin (sdk.Storage.ReadAuditLog) every
//     Config.StorageInterval (default 5 s) and its OCIS JSON lines are
//     parsed here (ParseOCISLine).
//
// # Cursors and ticks
//
// The pulled sources keep the plugin's opaque cursor in one IngestCursor
// row per source ("authentik", "ocis"). The identity cursor is the
// provider's: the authentik API ignores created__gt, so the provider pages
// the feed newest first (ordering=-created) and stops at the last event
// already seen; the storage cursor is the ocis provider's "<inode>:<offset>",
// which survives restarts, truncation and rotation of the log. A tick
// reads at most Config.MaxPages pages of Config.PageSize events; every page
// is written in one transaction together with the cursor advance, so a
// crash never loses nor skips a page, and the next tick resumes where the
// last committed page ended. The cursor advance is a compare-and-set on the
// cursor the tick started from: when another replica moved it meanwhile,
// the page is rolled back and the tick ends. Ticks of one source never
// overlap within a process (a tick that finds the previous one still
// running returns at once).
//
// # Dedup
//
// Every event is written with its source and the upstream's id as
// external id: the identity event id, the mail event id, and for storage
// "pos:" + the line's position in the log as the provider reports it
// (AuditLogPage.LineIDs, "<inode>:<offset>" for oCIS), or "sha256:" + the
// hex sha256 of the raw line when a provider reports no positions (then two
// byte-identical lines count as one event). audit.RecordExternal inserts
// with ON CONFLICT (source, external_id) DO NOTHING on both databases, so a
// re-delivered webhook, a re-read page or a re-read log writes nothing.
//
// # Actions
//
// Each source has an action map from the upstream's raw action to a dotted
// verb (IdentityAction, MailAction, StorageAction). An action the map does
// not know becomes "<source>.<raw>" and is never dropped. The only events
// deliberately left out are the storage service's read traffic (file_read,
// public_link_accessed, and the file_downloaded / user_signed_in events of
// older services): the storage allow-list admits mutations only. Storage
// lines that are not JSON objects or carry no Action are logged and
// skipped.
//
// # Tenant and actor
//
// The tenant is inferred as follows; an event whose tenant cannot be
// inferred is still written, without a tenant:
//
//   - identity: an attribute naming a tenant's identity group
//     (provisioning.GroupName, "tenant-<slug>", e.g. in a group membership
//     event's context), else the acting user's first membership (the
//     actor matched against the platform users' e-mail or OIDC subject);
//   - mail: the domain of the event's address, owned by the tenant that has
//     it among its domains;
//   - storage: the space (SpaceID, or the space part of FileID) recorded
//     by provisioning for a tenant, else the space name (the tenant's slug
//     or provisioning.SpaceName), else the acting user's first membership.
//
// The actor id is the upstream's user name; the actor e-mail is filled
// from the platform user it matches (or from the name itself when it is
// an address), the actor IP from the upstream's client address. The
// upstream's raw fields are kept in the event's metadata.
//
// Ingested events are chained like every other event: audit.RecordExternal
// kicks the process's chainers after each page commits. Their personal data
// is sealed like every other event's (package audit, "Personal data"): the
// actor id (an upstream user name), e-mail and IP, every e-mail address in
// the raw fields and every string under a personal key such as username or
// client_ip are committed to with salted hashes, so eraseAuditSubject can
// erase them without breaking the chain.
package ingest
