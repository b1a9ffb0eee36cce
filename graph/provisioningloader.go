package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/provisioning"
)

// provisioningBatches holds the statuses loaded for one list of tenants in
// a request, keyed by the list field's context; an entry is removed when
// its request ends.
var provisioningBatches sync.Map // *graphql.FieldContext → *provisioningBatch

type provisioningBatch struct {
	once   sync.Once
	status map[int][]*provisioning.IntegrationStatus
	err    error
}

// provisioningOf returns t's provisioning statuses. When t is an element of
// a list of tenants in the response (a connection's edges or a plain
// list), the statuses of the whole list are loaded with the first of them,
// in one statement, so a page costs the same number of statements at any
// size.
func (r *tenantResolver) provisioningOf(ctx context.Context, t *ent.Tenant) ([]*provisioning.IntegrationStatus, error) {
	list, ts := tenantList(graphql.GetFieldContext(ctx))
	if list == nil {
		return r.provisioning.Statuses(ctx, t)
	}
	v, loaded := provisioningBatches.LoadOrStore(list, &provisioningBatch{})
	b := v.(*provisioningBatch)
	if !loaded {
		context.AfterFunc(ctx, func() { provisioningBatches.Delete(list) })
	}
	b.once.Do(func() { b.status, b.err = r.provisioning.StatusesOf(ctx, ts) })
	if b.err != nil {
		return nil, b.err
	}
	if st, ok := b.status[t.ID]; ok {
		return st, nil
	}
	return r.provisioning.Statuses(ctx, t)
}

// tenantList finds the list of tenants the field of fc is resolved for:
// the nearest ancestor field whose result is a tenant connection, its
// edges, or a list of tenants. It returns nil when there is none.
func tenantList(fc *graphql.FieldContext) (*graphql.FieldContext, []*ent.Tenant) {
	if fc == nil {
		return nil, nil
	}
	for p, depth := fc.Parent, 0; p != nil && depth < 4; p, depth = p.Parent, depth+1 {
		switch res := p.Result.(type) {
		case []*ent.Tenant:
			return p, res
		case []*ent.TenantEdge:
			return p, edgeTenants(res)
		case *ent.TenantConnection:
			if res != nil {
				return p, edgeTenants(res.Edges)
			}
			return nil, nil
		}
	}
	return nil, nil
}

func edgeTenants(edges []*ent.TenantEdge) []*ent.Tenant {
	ts := make([]*ent.Tenant, 0, len(edges))
	for _, e := range edges {
		if e != nil && e.Node != nil {
			ts = append(ts, e.Node)
		}
	}
	return ts
}
