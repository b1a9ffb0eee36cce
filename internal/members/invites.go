package members

import (
	"context"
	"fmt"
	"strconv"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// The shared identity groups of operators and partner staff.
const (
	PlatformAdminGroup = "dezky-platform-admins"
	PartnerStaffGroup  = "dezky-partner-staff"
)

// InvitePayload is an invited user with the one-time credential issued
// for them (nil when the person already had an SSO user or no identity
// provider is configured).
type InvitePayload struct {
	User       *ent.User
	Credential *Credential
}

// InviteOperator makes a person an operator: SSO user in the platform-admin
// group, platformAdmin set. Operators only. Audited as
// platform.user_invited with the hand-off method, never the secret.
func (s *Service) InviteOperator(ctx context.Context, emailIn, nameIn string) (*InvitePayload, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	email, err := normalizeEmail("email", emailIn)
	if err != nil {
		return nil, err
	}
	name, err := checkName(nameIn)
	if err != nil {
		return nil, err
	}
	var out *InvitePayload
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		u, err := c.User.Query().Where(user.EmailEqualFold(email)).Order(ent.Asc(user.FieldID)).First(ctx)
		switch {
		case ent.IsNotFound(err):
			u, err = c.User.Create().SetSubject(email).SetEmail(email).SetName(name).SetPlatformAdmin(true).Save(ctx)
		case err != nil:
		case u.PlatformAdmin:
			return apperr.Conflictf("%s is already an operator", email)
		default:
			u, err = c.User.UpdateOne(u).SetPlatformAdmin(true).Save(ctx)
		}
		if err != nil {
			return apperr.About(err, "user")
		}
		cred, err := s.ensureSSOUser(ctx, sdk.EnsureGroupRequest{Name: PlatformAdminGroup}, u)
		if err != nil {
			return err
		}
		out = &InvitePayload{User: u, Credential: cred}
		return audit.Record(ctx, audit.Event{Action: "platform.user_invited", ResourceType: "user",
			ResourceID: strconv.Itoa(u.ID), ResourceName: u.Email, Metadata: map[string]any{"handoff": cred.handoff()}})
	})
	return out, err
}

// Operators lists the platform admins (operators only).
func (s *Service) Operators(ctx context.Context) ([]*ent.User, error) {
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	return db.Client(ctx, s.client).User.Query().Where(user.PlatformAdmin(true)).Order(ent.Asc(user.FieldEmail)).All(ctx)
}

// managePartner returns the partner when the viewer may manage its staff:
// operators and the partner's ADMIN staff.
func (s *Service) managePartner(ctx context.Context, slug string) (*ent.Partner, error) {
	p, err := s.cfg.Tenancy.PartnerBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	v := viewer.FromContext(ctx)
	if v.Privileged() {
		return p, nil
	}
	if v.PartnerID == p.ID && v.UserID != 0 {
		// The caller's own access level, which the viewer does not carry.
		me, err := db.Client(ctx, s.client).User.Get(rule.Bypass(ctx), v.UserID)
		if err != nil {
			return nil, fmt.Errorf("members: load caller: %w", err)
		}
		if me.AccessLevel != nil && *me.AccessLevel == user.AccessLevelAdmin {
			return p, nil
		}
	}
	return nil, apperr.Forbiddenf("only operators and the partner's ADMIN staff may manage its staff")
}

// InvitePartnerStaff adds a person to a partner's staff with an access
// level (default STAFF) and to the shared partner-staff SSO group.
func (s *Service) InvitePartnerStaff(ctx context.Context, slug, emailIn, nameIn string, level *user.AccessLevel) (*InvitePayload, error) {
	email, err := normalizeEmail("email", emailIn)
	if err != nil {
		return nil, err
	}
	name, err := checkName(nameIn)
	if err != nil {
		return nil, err
	}
	lvl := user.AccessLevelStaff
	if level != nil {
		if err := user.AccessLevelValidator(*level); err != nil {
			return nil, apperr.Invalid("accessLevel", "must be ADMIN or STAFF")
		}
		lvl = *level
	}
	var out *InvitePayload
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		p, err := s.managePartner(ctx, slug)
		if err != nil {
			return err
		}
		c := ent.FromContext(ctx)
		// The person may exist outside the caller's reach.
		u, err := c.User.Query().Where(user.EmailEqualFold(email)).Order(ent.Asc(user.FieldID)).First(rule.Bypass(ctx))
		switch {
		case ent.IsNotFound(err):
			u, err = c.User.Create().SetSubject(email).SetEmail(email).SetName(name).SetPartnerID(p.ID).SetAccessLevel(lvl).Save(ctx)
		case err != nil:
		case u.PartnerID != nil && *u.PartnerID == p.ID:
			return apperr.Conflictf("%s is already staff of %s", email, p.Slug)
		case u.PartnerID != nil:
			return apperr.Conflictf("%s is staff of another partner", email)
		default:
			u, err = c.User.UpdateOne(u).SetPartnerID(p.ID).SetAccessLevel(lvl).Save(ctx)
		}
		if err != nil {
			return apperr.About(err, "user")
		}
		cred, err := s.ensureSSOUser(ctx, sdk.EnsureGroupRequest{Name: PartnerStaffGroup}, u)
		if err != nil {
			return err
		}
		out = &InvitePayload{User: u, Credential: cred}
		return audit.Record(ctx, audit.Event{Action: "partner.staff_invited", ResourceType: "user",
			ResourceID: strconv.Itoa(u.ID), ResourceName: u.Email, Partner: p,
			Metadata: map[string]any{"accessLevel": string(lvl), "handoff": cred.handoff()}})
	})
	return out, err
}

// RemovePartnerStaff detaches a staff member from the partner and removes
// them from the partner-staff SSO group (their SSO user stays: they may be
// a tenant member too). Not yourself.
func (s *Service) RemovePartnerStaff(ctx context.Context, slug, emailIn string) (*ent.User, error) {
	email, err := normalizeEmail("email", emailIn)
	if err != nil {
		return nil, err
	}
	var out *ent.User
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		p, err := s.managePartner(ctx, slug)
		if err != nil {
			return err
		}
		c := ent.FromContext(ctx)
		u, err := c.User.Query().Where(user.EmailEqualFold(email), user.PartnerID(p.ID)).Only(ctx)
		if ent.IsNotFound(err) {
			return apperr.NotFoundf("%s is not staff of %s", email, p.Slug)
		}
		if err != nil {
			return fmt.Errorf("members: load staff: %w", err)
		}
		if v := viewer.FromContext(ctx); v.UserID == u.ID {
			return apperr.Forbiddenf("you cannot remove yourself")
		}
		if u.IdentityID != nil {
			if idp, err := s.identity(); err == nil {
				g, err := idp.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: PartnerStaffGroup})
				if err == nil {
					err = idp.RemoveGroupMember(ctx, g.ID, *u.IdentityID)
				}
				if err != nil && !sdk.IsNotFound(err) {
					return unavailable("identity provider", err)
				}
			}
		}
		if out, err = c.User.UpdateOne(u).ClearPartnerID().ClearAccessLevel().Save(ctx); err != nil {
			return apperr.About(err, "user")
		}
		return audit.Record(ctx, audit.Event{Action: "partner.staff_removed", ResourceType: "user",
			ResourceID: strconv.Itoa(u.ID), ResourceName: u.Email, Partner: p})
	})
	return out, err
}
