package tenancy

import (
	"context"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/viewer"
)

// Administers reports whether v manages t: an operator (or the system), an
// admin of t, or staff of t's partner.
func Administers(v *viewer.Viewer, t *ent.Tenant) bool {
	if v.Privileged() {
		return true
	}
	if r, ok := v.RoleIn(t.ID); ok && r == viewer.RoleAdmin {
		return true
	}
	return v != nil && v.PartnerID != 0 && t.PartnerID != nil && *t.PartnerID == v.PartnerID
}

// RequireAdmin answers FORBIDDEN unless the viewer in ctx administers t.
func RequireAdmin(ctx context.Context, t *ent.Tenant) error {
	if !Administers(viewer.FromContext(ctx), t) {
		return apperr.Forbiddenf("only the tenant's admins, its partner's staff and operators may do this")
	}
	return nil
}

// AdministeredTenant loads the tenant slug names as the viewer sees it
// (NOT_FOUND otherwise) and requires that the viewer administers it
// (FORBIDDEN otherwise).
func (s *Service) AdministeredTenant(ctx context.Context, slug string) (*ent.Tenant, error) {
	t, err := s.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	if err := RequireAdmin(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// Writable refuses changes to a deleted tenant (CONFLICT).
func Writable(t *ent.Tenant) error {
	if t.Status == tenant.StatusDeleted {
		return apperr.Conflictf("tenant %q is deleted", t.Slug)
	}
	return nil
}
