// Package audit writes and reads the platform's append-only, tamper-evident
// audit trail.
//
// # Recording
//
// Record must be called inside the transaction of the change it describes
// (db.WithTx or the GraphQL mutation transaction): the event commits or rolls
// back with the change, so there is never a change without its event nor an
// event without its change. Updates record a diff of only the fields that
// changed. The event is inserted unchained (seq NULL) and its at is
// truncated to microseconds, the precision PostgreSQL keeps, so it
// round-trips exactly through both databases. After the commit Record kicks
// the running Chainers of the process.
//
// # Chain
//
// A Chainer links unchained events, in id order, after the head: seq is the
// head's seq + 1 (the first event has seq 1), prev_hash is the head's hash
// (the empty string for seq 1) and hash is the lowercase hex sha256 of the
// event's canonical JSON (Canonical). Linking runs in one transaction under
// the database's chain lock (PostgreSQL: pg_advisory_xact_lock; SQLite: the
// single writer lock), so any number of chainers in any number of processes
// extend one gap-free chain in the order the events became visible; an
// event that commits late (out of id order) is linked when it commits. The
// chain columns are written with plain SQL: the ent policy denies every
// update of an audit row.
//
// # Canonical JSON
//
// The canonical JSON of an event is one JSON object without white space
// whose members are exactly these, in this (bytewise sorted) order:
//
//	action        string
//	actorEmail    string
//	actorId       string
//	actorIp       string
//	actorType     string
//	at            string, UTC, "2006-01-02T15:04:05.000000Z" (six fractional digits)
//	externalId    string or null
//	format        integer 2, present for sealed events only (see below)
//	metadata      canonical JSON value, or null when absent
//	outcome       string ("SUCCESS", "FAILURE" or "DENIED")
//	partnerId     integer or null
//	partnerSlug   string
//	prevHash      string (64 lowercase hex digits; "" for seq 1)
//	resourceId    string
//	resourceName  string
//	resourceType  string
//	seq           integer
//	source        string
//	tenantId      integer or null
//	tenantSlug    string
//
// A NULL optional string column is the empty string. Strings are written
// with '"' and '\' escaped by a backslash, code points below U+0020 as
// \u00xx (lowercase hex) and every other code point as its literal UTF-8
// (invalid UTF-8 bytes become U+FFFD). Integers are decimal. Within
// metadata, objects have their keys sorted bytewise (UTF-8; a duplicated
// key keeps its last value), arrays keep their order, true/false/null are literal, and a
// number is the IEEE-754 double nearest to it written as the shortest
// decimal that round-trips, in plain notation when 1e-6 ≤ |x| < 1e21 (zero
// is 0) and as d[.ddd]e±x otherwise (a number too large for a double is
// written as stored). The row id is not hashed.
//
// For example:
//
//	{"action":"tenant.suspended","actorEmail":"ops@dezky.io","actorId":"u1","actorIp":"","actorType":"OPERATOR","at":"2026-11-27T12:00:00.123456Z","externalId":null,"metadata":{"reason":"unpaid","seats":5},"outcome":"SUCCESS","partnerId":null,"partnerSlug":"","prevHash":"","resourceId":"42","resourceName":"Acme","resourceType":"Tenant","seq":1,"source":"platform","tenantId":42,"tenantSlug":"acme"}
//
// An export line (MarshalLine, ParseLine) is the same object with the
// member "hash" added between externalId and metadata.
//
// Events chained from SealedFromSeq on are sealed (see personal.go,
// "Personal data"): in their canonical JSON every personal value (actor
// e-mail, IP, ingested actor ids, e-mail addresses and strings under
// personal keys in metadata) is replaced by "hmac-sha256:" and the hex
// HMAC-SHA256 of path || 0x00 || value under that field's 32-byte random
// salt, and the member "format":2 is added. Their export lines carry the
// values themselves, "format":2 and, between partnerSlug and prevHash, the
// member "personal" with each field's salt and commitment (MarshalPersonal),
// from which a verifier recomputes the canonical JSON. Erasure
// (Service.EraseSubject) replaces values with ErasedValue and deletes their
// salts, keeping the commitments: hashes, tree, proofs and checkpoints are
// unchanged. Events before SealedFromSeq keep the legacy form above.
//
// # Merkle tree
//
// The chained events also form an RFC 6962 Merkle tree in seq order: leaf
// n (0-based) is the event with seq n+1 and its leaf hash is
// sha256(0x00 || canonical JSON), the bytes the chain hash covers
// (LeafHash). The tree's hashes are stored in audit_tree_hashes in the
// layout of golang.org/x/mod/sumdb/tlog and appended by the chainer in the
// transaction that links the events (O(log n) per event), so the tree's
// size is always the chain head's seq. A chain linked before the tree
// existed is added to it by the next chaining round. ProveInclusion and
// ProveConsistency return proofs that tlog.CheckRecord and tlog.CheckTree
// accept.
//
// # Checkpoints
//
// A Checkpointer signs the head with ed25519 on startup, every 5 minutes,
// every 100 new chained events and on demand, skipping a head that already
// has a checkpoint. The signed message (CheckpointMessage) is the ASCII text
// "dezky-audit-checkpoint-v1\n<headSeq>\n<headHash>\n<at>\n", headSeq in
// decimal and at in the form above. The key id is the hex of the first 16
// bytes of sha256 of the raw public key; the key is generated at first use
// into the data dir (LoadOrCreateKey, mode 0600) or loaded from a configured
// file (LoadKey), and its public key is published beside it as PEM. Each
// checkpoint also carries its head as a C2SP tlog-checkpoint signed note
// (origin Origin(public key), tree size = headSeq, base64 Merkle root,
// ed25519 note signature by the same key; see SignTreeHead), which
// transparency-log tools and witnesses understand.
//
// # Verification
//
// Verify walks a Source (the database, or an export directory) from seq 1
// and reports the first break:
//
//   - sequence-gap: the next event's seq is not the expected one (an event
//     was deleted, unchained, or reordered); expected and actual are seqs.
//   - prev-hash-mismatch: an event's prev_hash is not the previous event's
//     hash (an event was inserted, or rows swapped); expected is the
//     previous hash, actual the stored prev_hash.
//   - event-hash-mismatch: an event's stored hash is not the hash of its
//     content (a field was modified); expected is the recomputed hash,
//     actual the stored one. For a sealed event this includes a personal
//     value that no longer matches its salt and commitment, and seals that
//     do not fit the event at all (expected is then the reason).
//   - checkpoint-signature-mismatch (seq = the checkpoint's head): the
//     signature does not verify under the given public key of its key id
//     (expected names the key, actual is the signature), or a validly
//     signed head is not the chain's (the chain was rewritten or lost its
//     tail; expected is the signed hash, actual the chain's hash at that
//     seq, empty when the chain has no such seq).
//   - checkpoint-note-mismatch (seq = the checkpoint's head): the
//     checkpoint's signed note does not verify under the public key, or its
//     tree size or Merkle root is not that of the events up to its head
//     (expected is the recomputed value, actual the note's).
//
// Events chained after the last checkpoint are protected by the chain only;
// an attacker with database access can append or rewrite them undetected
// until the next checkpoint signs the head.
package audit

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
)

// Event is what a domain service records about one change.
type Event struct {
	// Action is a dotted verb, e.g. "tenant.suspended".
	Action string
	// Outcome defaults to SUCCESS.
	Outcome      auditevent.Outcome
	ResourceType string
	ResourceID   string
	ResourceName string
	// Tenant scopes the event to a tenant (and its partner, if any).
	Tenant *ent.Tenant
	// Partner scopes the event to a partner (overrides Tenant's partner).
	Partner  *ent.Partner
	Metadata map[string]any
}

// ErrNoTransaction is returned when Record is called outside a transaction.
var ErrNoTransaction = errors.New("audit: Record must run inside the change's transaction")

// Record writes e, attributed to the viewer in ctx, in ctx's transaction.
func Record(ctx context.Context, e Event) error {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		return ErrNoTransaction
	}
	v := viewer.FromContext(ctx)
	c := tx.AuditEvent.Create().
		SetAction(e.Action).
		SetActorType(v.ActorType()).
		SetResourceType(e.ResourceType).
		SetResourceID(e.ResourceID).
		SetResourceName(e.ResourceName)
	if e.Outcome != "" {
		c.SetOutcome(e.Outcome)
	}
	if v != nil {
		c.SetActorID(v.Subject).SetActorEmail(v.Email).SetActorIP(v.IP)
	}
	setTenant(ctx, tx, c, e.Tenant, e.Partner == nil)
	if p := e.Partner; p != nil {
		c.SetPartnerID(p.ID).SetPartnerSlug(p.Slug)
	}
	if e.Metadata != nil {
		c.SetMetadata(e.Metadata)
	}
	if _, err := c.Save(ctx); err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	kickAfterCommit(tx)
	return nil
}

// setTenant scopes c to t (when not nil) and, with partner, to t's partner.
func setTenant(ctx context.Context, tx *ent.Tx, c *ent.AuditEventCreate, t *ent.Tenant, partner bool) {
	if t == nil {
		return
	}
	c.SetTenantID(t.ID).SetTenantSlug(t.Slug)
	if t.PartnerID == nil || !partner {
		return
	}
	c.SetPartnerID(*t.PartnerID)
	// The audit row names the tenant's partner whatever the actor may see.
	if p, err := tx.Partner.Get(rule.Bypass(ctx), *t.PartnerID); err == nil {
		c.SetPartnerSlug(p.Slug)
	}
}

// Change is one field's before and after value.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Diff returns the fields whose values differ between before and after,
// as {field: {from, to}}. Keys present on one side only count as changes.
func Diff(before, after map[string]any) map[string]any {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	out := map[string]any{}
	for _, k := range names {
		b, a := before[k], after[k]
		if !reflect.DeepEqual(normalize(b), normalize(a)) {
			out[k] = map[string]any{"from": b, "to": a}
		}
	}
	return out
}

// normalize makes nil and empty slices compare equal.
func normalize(v any) any {
	switch x := v.(type) {
	case []string:
		if len(x) == 0 {
			return nil
		}
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}
