// Package viewer carries the identity of whoever is acting in a context.
//
// The HTTP/WebSocket authentication middleware is the only producer of user
// viewers; background work (seeding, workers, ingest) runs with the explicit
// System viewer. ent privacy rules (package rule) read the viewer on every
// query and mutation, so code that forgets a check still cannot leak across
// tenants.
package viewer

import (
	"context"
	"sort"

	"github.com/dezky/platform/internal/apperr"
)

// Role is a per-tenant role carried by a membership.
type Role string

// Tenant roles. They are per membership, never global.
const (
	RoleMember Role = "member"
	RoleAdmin  Role = "admin"
)

// Viewer is the acting identity. The zero value sees nothing.
type Viewer struct {
	// Subject is the OIDC subject (sub) of the token, or "system".
	Subject string
	// Email is the e-mail claim or the user's stored address.
	Email string
	// Name is the display name, if known.
	Name string
	// UserID is the database id of the user, 0 when the subject is unknown.
	UserID int
	// Operator is true only when the token carries the operator audience AND
	// the user is a platform admin in the database.
	Operator bool
	// PartnerID is the partner the user is staff of, 0 when none.
	PartnerID int
	// Tenants maps tenant id to the viewer's role in that tenant.
	Tenants map[int]Role
	// IP is the client address (leftmost X-Forwarded-For, else the peer).
	IP string
	// system marks the internal system viewer.
	system bool
}

// IsSystem reports whether v is the internal system viewer.
func (v *Viewer) IsSystem() bool { return v != nil && v.system }

// Privileged reports whether v may see and change everything (operator or system).
func (v *Viewer) Privileged() bool { return v != nil && (v.system || v.Operator) }

// RoleIn returns the viewer's role in a tenant and whether it has one.
func (v *Viewer) RoleIn(tenantID int) (Role, bool) {
	if v == nil {
		return "", false
	}
	r, ok := v.Tenants[tenantID]
	return r, ok
}

// TenantIDs returns, sorted, the tenants where the viewer holds one of roles
// (any role when roles is empty).
func (v *Viewer) TenantIDs(roles ...Role) []int {
	if v == nil {
		return nil
	}
	ids := make([]int, 0, len(v.Tenants))
	for id, r := range v.Tenants {
		if len(roles) == 0 || contains(roles, r) {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	return ids
}

// ActorType names the kind of actor for audit records.
func (v *Viewer) ActorType() string {
	switch {
	case v == nil:
		return "anonymous"
	case v.system:
		return "system"
	default:
		return "user"
	}
}

func contains(rs []Role, r Role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// NewContext returns a copy of parent carrying v.
func NewContext(parent context.Context, v *Viewer) context.Context {
	return context.WithValue(parent, ctxKey{}, v)
}

// FromContext returns the viewer in ctx, or nil.
func FromContext(ctx context.Context) *Viewer {
	v, _ := ctx.Value(ctxKey{}).(*Viewer)
	return v
}

// SystemContext returns a copy of parent acting as the internal system viewer.
// Use it only for background work no request initiated (workers, ingest,
// archive, checkpointer, demo seeding, CLI commands): it replaces the
// caller's identity. A request path keeps its viewer and uses rule.Bypass
// for the one call that must look past it; TestSystemContextOnlyInBackgroundWork
// guards the allow-list.
func SystemContext(parent context.Context) context.Context {
	return NewContext(parent, &Viewer{Subject: "system", Email: "system@dezky.local", system: true})
}

// RequireOperator returns a FORBIDDEN application error unless the viewer
// in ctx is an operator (or the system). Operator-only services call it
// first, so a non-operator learns nothing from input validation.
func RequireOperator(ctx context.Context) error {
	if !FromContext(ctx).Privileged() {
		return apperr.Forbiddenf("operator access required")
	}
	return nil
}
