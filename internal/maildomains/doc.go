// Package maildomains turns a tenant's mail domains into verified objects:
// adding one creates it at the mail provider (which generates the DKIM
// key) and lists the DNS records to publish, verifying one resolves them
// through the dns capability and compares what is published with what is
// expected, record by record.
//
// # Records
//
// Every domain needs five kinds of record (Purpose): OWNERSHIP, a TXT at
// "_dezky-challenge.<domain>" holding "dezky-domain-verification=<token>"
// with a random token per claim; MX, SPF (the apex TXT starting "v=spf1"),
// DKIM ("<selector>._domainkey.<domain>") and DMARC ("_dmarc.<domain>") as
// the mail provider proposes them (DMARC as set with SetDMARC). A check
// is OK when one published value equals the expected one (compared in
// normal form: see Normalize), MISMATCH when records of the kind exist
// but none matches, MISSING when there are none.
//
// # Status and ownership
//
// A domain is VERIFIED when its OWNERSHIP and MX records are OK. The
// first tenant to verify a name owns it: nobody else can add it (CONFLICT)
// or verify it, and pending claims of other tenants say so in their
// message. The owner keeps it until it removes it; a recheck that finds
// the OWNERSHIP or MX record gone turns it FAILING (still owned) until the
// records are back. A domain never verified is PENDING. Lookups that fail
// (resolver errors) change no status: a recheck during a resolver outage
// does not fail domains.
//
// # Managed DNS
//
// When the dns capability can change zones (RFC 2136 dynamic updates),
// Add publishes the records itself, in the closest enclosing zone the
// update server accepts, and checks them at once. UpsertRecord replaces
// the record set of a (name, type): in a managed zone the apex TXT set is
// the SPF record and the MX set is the mail provider's. Without dynamic
// updates (UNSUPPORTED) the records are listed for the domain owner to
// publish and the domain stays PENDING until they are.
//
// # Background
//
// RecheckAll, run periodically by a job, checks every domain again.
// Removing a domain is refused (CONFLICT, with the mail provider's reason)
// while mailboxes or aliases use it.
package maildomains
