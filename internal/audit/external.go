package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
)

// ExternalEvent is an event that happened in an upstream system (identity,
// mail or storage) and is ingested into the trail. Source and ExternalID
// identify it: the pair is unique, so a re-delivery is not written again.
type ExternalEvent struct {
	// Source names the upstream, e.g. "authentik"; it must not be
	// "platform", which marks the platform's own events.
	Source string
	// ExternalID is the upstream's stable id of the event.
	ExternalID string
	// At is when the upstream recorded the event; zero means now. It is
	// stored truncated to microseconds.
	At time.Time
	// Action is a dotted verb, e.g. "authentik.login".
	Action string
	// Outcome defaults to SUCCESS.
	Outcome auditevent.Outcome
	// ActorType defaults to "user" when ActorID or ActorEmail is set and to
	// "anonymous" otherwise.
	ActorType    string
	ActorID      string
	ActorEmail   string
	ActorIP      string
	ResourceType string
	ResourceID   string
	ResourceName string
	// Tenant scopes the event to a tenant (and its partner, if any); nil
	// when the tenant could not be inferred.
	Tenant   *ent.Tenant
	Metadata map[string]any
}

// RecordExternal writes e in ctx's transaction unless an event with the
// same (Source, ExternalID) already exists, and reports whether it wrote
// it. The insert is INSERT … ON CONFLICT (source, external_id) DO NOTHING
// on both databases, so concurrent ingesters never fail on each other's
// rows. Like Record, the event is inserted unchained and the running
// Chainers of the process are kicked after the transaction commits; the
// ent privacy policy of audit events applies (ingest runs as the system
// viewer).
func RecordExternal(ctx context.Context, e ExternalEvent) (bool, error) {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		return false, ErrNoTransaction
	}
	switch {
	case e.Source == "" || e.Source == "platform":
		return false, fmt.Errorf("audit: external event source %q is not an upstream", e.Source)
	case e.ExternalID == "":
		return false, fmt.Errorf("audit: external %s event without an external id", e.Source)
	case e.Action == "":
		return false, fmt.Errorf("audit: external %s event %s without an action", e.Source, e.ExternalID)
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	actorType := e.ActorType
	if actorType == "" {
		actorType = "anonymous"
		if e.ActorID != "" || e.ActorEmail != "" {
			actorType = "user"
		}
	}
	c := tx.AuditEvent.Create().
		SetSource(e.Source).
		SetExternalID(e.ExternalID).
		SetAt(at).
		SetAction(e.Action).
		SetActorType(actorType).
		SetActorID(e.ActorID).
		SetActorEmail(e.ActorEmail).
		SetActorIP(e.ActorIP).
		SetResourceType(e.ResourceType).
		SetResourceID(e.ResourceID).
		SetResourceName(e.ResourceName)
	if e.Outcome != "" {
		c.SetOutcome(e.Outcome)
	}
	setTenant(ctx, tx, c, e.Tenant, true)
	if e.Metadata != nil {
		c.SetMetadata(e.Metadata)
	}
	err := c.OnConflict(
		entsql.ConflictColumns(auditevent.FieldSource, auditevent.FieldExternalID),
		entsql.DoNothing(),
	).Exec(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		// ON CONFLICT DO NOTHING returned no row: already ingested.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("audit: record %s event %s: %w", e.Source, e.ExternalID, err)
	}
	kickAfterCommit(tx)
	return true, nil
}
