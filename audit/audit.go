// Package audit writes and reads the platform's append-only audit trail.
//
// Record must be called inside the transaction of the change it describes
// (db.WithTx or the GraphQL mutation transaction): the event commits or rolls
// back with the change, so there is never a change without its event nor an
// event without its change. Updates record a diff of only the fields that
// changed.
package audit

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/viewer"
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
	if t := e.Tenant; t != nil {
		c.SetTenantID(t.ID).SetTenantSlug(t.Slug)
		if t.PartnerID != nil && e.Partner == nil {
			c.SetPartnerID(*t.PartnerID)
			if p, err := partnerSlug(ctx, tx, *t.PartnerID); err == nil {
				c.SetPartnerSlug(p)
			}
		}
	}
	if p := e.Partner; p != nil {
		c.SetPartnerID(p.ID).SetPartnerSlug(p.Slug)
	}
	if e.Metadata != nil {
		c.SetMetadata(e.Metadata)
	}
	if _, err := c.Save(ctx); err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

func partnerSlug(ctx context.Context, tx *ent.Tx, id int) (string, error) {
	p, err := tx.Partner.Get(viewer.SystemContext(ctx), id)
	if err != nil {
		return "", err
	}
	return p.Slug, nil
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
