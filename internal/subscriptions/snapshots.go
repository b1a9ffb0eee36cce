package subscriptions

import (
	"context"
	"fmt"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/predicate"
	"github.com/dezky/platform/ent/subscriptionrevision"
)

// Snapshot is every subscription's state at one instant: its newest
// revision effective before it, by subscription id. Subscriptions that
// did not exist yet are absent.
type Snapshot map[int]*ent.SubscriptionRevision

// Snapshots returns the snapshot at each instant of ats (ascending), read
// with one query in ctx's viewer and transaction, of the subscriptions
// whose revisions match where (all when none is given: where must select
// every revision of a subscription or none). Payouts and reports are
// computed from these alone, so every figure is reproducible from the
// revision rows.
func Snapshots(ctx context.Context, c *ent.Client, ats []time.Time, where ...predicate.SubscriptionRevision) ([]Snapshot, error) {
	out := make([]Snapshot, len(ats))
	if len(ats) == 0 {
		return out, nil
	}
	revs, err := c.SubscriptionRevision.Query().Where(subscriptionrevision.EffectiveAtLT(ats[len(ats)-1])).Where(where...).
		Order(ent.Asc(subscriptionrevision.FieldEffectiveAt), ent.Asc(subscriptionrevision.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscription revisions: %w", err)
	}
	cur := Snapshot{}
	i := 0
	for k, at := range ats {
		for ; i < len(revs) && revs[i].EffectiveAt.Before(at); i++ {
			cur[revs[i].SubscriptionID] = revs[i]
		}
		snap := make(Snapshot, len(cur))
		for id, r := range cur {
			snap[id] = r
		}
		out[k] = snap
	}
	return out, nil
}
