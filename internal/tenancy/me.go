package tenancy

import (
	"context"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/viewer"
)

// Me is the caller's profile.
type Me struct {
	Subject     string
	Email       string
	Name        string
	User        *ent.User
	IsOperator  bool
	Memberships []*ent.Membership
	Partner     *ent.Partner
}

// Me returns the caller's profile, memberships (with the per-tenant role)
// and partner context.
func (s *Service) Me(ctx context.Context) (*Me, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.IsSystem() {
		return nil, apperr.New(apperr.Unauthenticated, "authentication required")
	}
	me := &Me{Subject: v.Subject, Email: v.Email, Name: v.Name, IsOperator: v.Operator, Memberships: []*ent.Membership{}}
	if v.UserID == 0 {
		return me, nil
	}
	c := db.Client(ctx, s.client)
	u, err := c.User.Get(ctx, v.UserID)
	if err != nil {
		return nil, apperr.About(err, "user")
	}
	me.User = u
	me.Name = u.Name
	if u.Email != "" {
		me.Email = u.Email
	}
	ms, err := c.Membership.Query().Where(membership.UserID(u.ID), membership.HasTenantWith(tenant.StatusNEQ(tenant.StatusDeleted)),
		membership.StatusNEQ(membership.StatusRemoving)).WithTenant().All(ctx)
	if err != nil {
		return nil, apperr.About(err, "membership")
	}
	me.Memberships = ms
	if u.PartnerID != nil {
		p, err := c.Partner.Get(ctx, *u.PartnerID)
		if err != nil {
			return nil, apperr.About(err, "partner")
		}
		me.Partner = p
	}
	return me, nil
}
