package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/plugins/sdk"
)

// IngestIdentity runs one identity tick: it pulls up to Config.MaxPages
// pages of events from the stored cursor through the identity plugin and
// writes the new ones.
func (in *Ingestor) IngestIdentity(ctx context.Context) (Result, error) {
	if in.cfg.Providers == nil {
		return Result{}, sdk.Unsupported("no identity provider configured")
	}
	idp, err := in.cfg.Providers.Identity()
	if err != nil {
		return Result{}, fmt.Errorf("ingest: identity plugin: %w", err)
	}
	return in.pull(ctx, &in.identity, SourceIdentity, func(ctx context.Context, cursor string, r *resolver) (int, string, []audit.ExternalEvent, error) {
		p, err := idp.ListEvents(ctx, sdk.ListEventsRequest{Cursor: cursor, Limit: in.cfg.PageSize})
		if err != nil {
			return 0, "", nil, fmt.Errorf("ingest: list identity events: %w", err)
		}
		evs := make([]audit.ExternalEvent, 0, len(p.Events))
		for _, e := range p.Events {
			ev, err := identityEvent(ctx, r, e)
			if err != nil {
				return 0, "", nil, err
			}
			evs = append(evs, ev)
		}
		return len(p.Events), p.NextCursor, evs, nil
	})
}

// identityEvent converts one identity event.
func identityEvent(ctx context.Context, r *resolver, e sdk.IdentityEvent) (audit.ExternalEvent, error) {
	action, outcome := IdentityAction(e.Action)
	actorName := e.Actor
	if actorName == "" || actorName == "AnonymousUser" {
		// Unauthenticated actions (failed logins) name the user in
		// their context.
		actorName = e.Attributes["username"]
	}
	a, err := r.user(ctx, actorName)
	if err != nil {
		return audit.ExternalEvent{}, err
	}
	t, err := identityTenant(ctx, r, e.Attributes)
	if err != nil {
		return audit.ExternalEvent{}, err
	}
	if t == nil && a != nil {
		t = a.tenant
	}
	meta := map[string]any{"rawAction": e.Action}
	if len(e.Attributes) > 0 {
		meta["attributes"] = anyMap(e.Attributes)
	}
	ip := e.ClientIP
	if ip == "" {
		ip = e.Attributes["client_ip"]
	}
	return audit.ExternalEvent{
		Source:       SourceIdentity,
		ExternalID:   e.ID,
		At:           e.Time,
		Action:       action,
		Outcome:      outcome,
		ActorID:      actorName,
		ActorEmail:   emailOf(a, actorName),
		ActorIP:      ip,
		ResourceType: "identity_event",
		ResourceID:   e.ID,
		ResourceName: e.Action,
		Tenant:       t,
		Metadata:     meta,
	}, nil
}

// identityTenant returns the tenant whose identity group an attribute
// names: a plain attribute value, or a "name" (or string value) anywhere
// inside an attribute holding JSON, e.g. the group model in a membership
// event's context. Attributes are searched in key order; the first match
// wins.
func identityTenant(ctx context.Context, r *resolver, attrs map[string]string) (*ent.Tenant, error) {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, s := range candidates(attrs[k]) {
			t, err := r.byGroup(ctx, s)
			if err != nil || t != nil {
				return t, err
			}
		}
	}
	return nil, nil
}

// candidates returns v itself and, when v is JSON, every string inside it
// (in document order for arrays, key order for objects).
func candidates(v string) []string {
	out := []string{v}
	var doc any
	if json.Unmarshal([]byte(v), &doc) != nil {
		return out
	}
	var walk func(x any)
	walk = func(x any) {
		switch y := x.(type) {
		case string:
			out = append(out, y)
		case []any:
			for _, z := range y {
				walk(z)
			}
		case map[string]any:
			ks := make([]string, 0, len(y))
			for k := range y {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			for _, k := range ks {
				walk(y[k])
			}
		}
	}
	walk(doc)
	return out
}
