package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/partner"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/authn"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
)

// Authenticator turns a bearer token into a Viewer.
type Authenticator struct {
	Verifier *authn.Verifier
	Client   *ent.Client
	// OperatorAudience is the audience that, together with platformAdmin in
	// the database, makes a caller an operator.
	OperatorAudience string
	// Cache keeps viewers between requests (nil: every request verifies
	// the token and loads the caller's roles).
	Cache *ViewerCache
}

// errDisabled is returned for a deactivated user.
var errDisabled = fmt.Errorf("%w: account disabled", authn.ErrUnauthenticated)

// IsDisabled reports whether err rejects a deactivated account.
func IsDisabled(err error) bool { return errors.Is(err, errDisabled) }

// Viewer verifies raw and loads the caller's roles. Errors wrap
// authn.ErrUnauthenticated when the token (or account) is not acceptable.
func (a *Authenticator) Viewer(ctx context.Context, raw, ip string) (*viewer.Viewer, error) {
	v, _, err := a.ViewerUntil(ctx, raw, ip)
	return v, err
}

// ViewerUntil is Viewer that also returns when the token expires.
func (a *Authenticator) ViewerUntil(ctx context.Context, raw, ip string) (*viewer.Viewer, time.Time, error) {
	if a.Cache == nil {
		return a.verify(ctx, raw, ip)
	}
	key := sha256.Sum256([]byte(raw))
	now := time.Now()
	if v, exp, ok := a.Cache.get(key, ip, now); ok {
		return v, exp, nil
	}
	epoch := a.Cache.epoch.Load()
	v, exp, err := a.verify(ctx, raw, ip)
	if err == nil {
		a.Cache.put(key, v, exp, epoch, now)
	}
	return v, exp, err
}

func (a *Authenticator) verify(ctx context.Context, raw, ip string) (*viewer.Viewer, time.Time, error) {
	claims, err := a.Verifier.Verify(ctx, raw)
	if err != nil {
		return nil, time.Time{}, err
	}
	v, err := a.load(ctx, claims, ip)
	return v, claims.Expiry, err
}

// load builds the viewer of verified claims from the database.
func (a *Authenticator) load(ctx context.Context, claims *authn.Claims, ip string) (*viewer.Viewer, error) {
	v := &viewer.Viewer{Subject: claims.Subject, Email: claims.Email, Name: claims.Name, IP: ip, Tenants: map[int]viewer.Role{}}
	// Loading the caller's own roles happens before a viewer exists.
	sys := rule.Bypass(ctx)
	u, err := a.Client.User.Query().Where(user.Subject(claims.Subject)).Only(sys)
	if ent.IsNotFound(err) {
		return v, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if !u.Active {
		return nil, errDisabled
	}
	v.UserID = u.ID
	if u.Email != "" {
		v.Email = u.Email
	}
	if u.Name != "" {
		v.Name = u.Name
	}
	v.Operator = u.PlatformAdmin && claims.HasAudience(a.OperatorAudience)
	if u.PartnerID != nil {
		p, err := a.Client.Partner.Get(sys, *u.PartnerID)
		if err != nil {
			return nil, fmt.Errorf("load partner: %w", err)
		}
		if p.Status == partner.StatusActive || p.Status == partner.StatusOnboarding {
			v.PartnerID = p.ID
		}
	}
	ms, err := a.Client.Membership.Query().
		Where(membership.UserID(u.ID), membership.HasTenantWith(tenant.StatusNEQ(tenant.StatusDeleted)),
			// A suspended or removed membership grants nothing, from the next request on.
			membership.StatusNotIn(membership.StatusSuspended, membership.StatusRemoving)).
		All(sys)
	if err != nil {
		return nil, fmt.Errorf("load memberships: %w", err)
	}
	for _, m := range ms {
		if m.Role == membership.RoleAdmin {
			v.Tenants[m.TenantID] = viewer.RoleAdmin
		} else {
			v.Tenants[m.TenantID] = viewer.RoleMember
		}
	}
	return v, nil
}

// isUnauthenticated reports whether err is a token/account rejection.
func isUnauthenticated(err error) bool { return errors.Is(err, authn.ErrUnauthenticated) }
