package tenancy

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/partner"
	"github.com/dezky/platform/ent/partnersettings"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
)

// CreateTenantInput is the input of CreateTenant.
type CreateTenantInput struct {
	Slug        string
	Name        string
	Plan        *tenant.Plan
	Seats       *int
	PartnerSlug *string
	Domains     []string
}

// UpdateTenantInput is the input of UpdateTenant; nil/absent fields are left.
type UpdateTenantInput struct {
	Name        *string
	Plan        *tenant.Plan
	Seats       *int
	Domains     []string
	Industry    Clearable
	BrandColor  Clearable
	PartnerSlug Clearable
}

// TenantBySlug returns a visible tenant or NOT_FOUND.
func (s *Service) TenantBySlug(ctx context.Context, slug string) (*ent.Tenant, error) {
	t, err := db.Client(ctx, s.client).Tenant.Query().Where(tenant.Slug(slug)).Only(ctx)
	return t, apperr.About(err, "tenant")
}

// CreateTenant creates an active tenant (operators only).
func (s *Service) CreateTenant(ctx context.Context, in CreateTenantInput) (*ent.Tenant, error) {
	// The Tenant schema denies creation by non-operators at Save; checking
	// first keeps input validation and partner lookups from answering them.
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	in.Slug = strings.TrimSpace(in.Slug)
	if err := checkSlug("slug", in.Slug); err != nil {
		return nil, err
	}
	name, err := checkName(in.Name)
	if err != nil {
		return nil, err
	}
	if in.Seats != nil && *in.Seats < 0 {
		return nil, apperr.Invalid("seats", "must not be negative")
	}
	if in.Plan != nil {
		if err := tenant.PlanValidator(*in.Plan); err != nil {
			return nil, apperr.Invalid("plan", "unknown plan")
		}
	}
	domains, err := normalizeDomains(in.Domains)
	if err != nil {
		return nil, err
	}
	var out *ent.Tenant
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		if n, err := c.Tenant.Query().Where(tenant.Slug(in.Slug)).Count(ctx); err != nil {
			return err
		} else if n > 0 {
			return apperr.Conflictf("a tenant with slug %q already exists", in.Slug)
		}
		create := c.Tenant.Create().
			SetSlug(in.Slug).
			SetName(name).
			SetNillablePlan(in.Plan).
			SetNillableSeats(in.Seats).
			SetDomains(domains)
		var p *ent.Partner
		if ps := trimmed(in.PartnerSlug); ps != "" {
			var err error
			if p, err = activePartner(ctx, c, ps); err != nil {
				return err
			}
			create.SetPartnerID(p.ID)
			if in.Plan == nil {
				// A partner's customers start on the partner's default plan.
				ps, err := c.PartnerSettings.Query().Where(partnersettings.PartnerID(p.ID)).Only(ctx)
				if err != nil && !ent.IsNotFound(err) {
					return err
				}
				if ps != nil && ps.DefaultPlan != nil {
					create.SetPlan(tenant.Plan(*ps.DefaultPlan))
				}
			}
		}
		t, err := create.Save(ctx)
		if err != nil {
			return apperr.About(err, "tenant")
		}
		out = t
		if err := claimDomains(ctx, c, t.ID, t.Domains); err != nil {
			return err
		}
		if err := s.notify(ctx, t, ChangeCreated); err != nil {
			return err
		}
		return audit.Record(ctx, audit.Event{
			Action: "tenant.created", ResourceType: "tenant", ResourceID: strconv.Itoa(t.ID), ResourceName: t.Slug,
			Tenant: t, Metadata: map[string]any{"after": tenantFields(t, p)},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "tenant")
	}
	return out, nil
}

// activePartner resolves a partner that tenants may be attached to.
func activePartner(ctx context.Context, c *ent.Client, slug string) (*ent.Partner, error) {
	p, err := c.Partner.Query().Where(partner.Slug(slug)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.Invalid("partnerSlug", "no partner %q", slug)
	}
	if err != nil {
		return nil, err
	}
	if p.Status == partner.StatusTerminated {
		return nil, apperr.Invalid("partnerSlug", "partner %q is terminated", slug)
	}
	return p, nil
}

// UpdateTenant changes a tenant. Operators may change everything; partner
// staff their partner's tenants (not the partner link); tenant admins their
// tenant's domains, industry and brand colour.
func (s *Service) UpdateTenant(ctx context.Context, slug string, in UpdateTenantInput) (*ent.Tenant, error) {
	var out *ent.Tenant
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		t, err := s.TenantBySlug(ctx, slug)
		if err != nil {
			return err
		}
		if t.Status == tenant.StatusDeleted {
			return apperr.Conflictf("tenant %q is deleted", slug)
		}
		beforePartner, err := partnerOf(ctx, c, t)
		if err != nil {
			return err
		}
		before := tenantFields(t, beforePartner)
		upd := c.Tenant.UpdateOne(t)
		if in.Name != nil {
			name, err := checkName(*in.Name)
			if err != nil {
				return err
			}
			upd.SetName(name)
		}
		if in.Plan != nil {
			if err := tenant.PlanValidator(*in.Plan); err != nil {
				return apperr.Invalid("plan", "unknown plan")
			}
			upd.SetPlan(*in.Plan)
		}
		if in.Seats != nil {
			if *in.Seats < 0 {
				return apperr.Invalid("seats", "must not be negative")
			}
			upd.SetSeats(*in.Seats)
		}
		var domains []string
		if in.Domains != nil {
			if domains, err = normalizeDomains(in.Domains); err != nil {
				return err
			}
			upd.SetDomains(domains)
		}
		if v, ok := optional(in.Industry); ok {
			if v == "" {
				upd.ClearIndustry()
			} else {
				upd.SetIndustry(v)
			}
		}
		if v, ok := optional(in.BrandColor); ok {
			if v == "" {
				upd.ClearBrandColor()
			} else {
				upd.SetBrandColor(v)
			}
		}
		afterPartner := beforePartner
		if v, ok := optional(in.PartnerSlug); ok {
			// rule.TenantMutation denies this field to non-operators too;
			// answering here, before the partner lookup, names the reason.
			if err := viewer.RequireOperator(ctx); err != nil {
				return apperr.Forbiddenf("only operators may attach or detach a partner")
			}
			if v == "" {
				upd.ClearPartner()
				afterPartner = nil
			} else {
				p, err := activePartner(ctx, c, v)
				if err != nil {
					return err
				}
				upd.SetPartnerID(p.ID)
				afterPartner = p
			}
		}
		prev := t
		t, err = upd.Save(ctx)
		if err != nil {
			return apperr.About(err, "tenant")
		}
		if domains != nil {
			if err := claimDomains(ctx, c, t.ID, domains); err != nil {
				return err
			}
		}
		out = t
		if err := s.notify(ctx, t, changesOf(prev, t)...); err != nil {
			return err
		}
		return audit.Record(ctx, audit.Event{
			Action: "tenant.updated", ResourceType: "tenant", ResourceID: strconv.Itoa(t.ID), ResourceName: t.Slug,
			Tenant: t, Metadata: map[string]any{"diff": audit.Diff(before, tenantFields(t, afterPartner))},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "tenant")
	}
	return out, nil
}

// SuspendTenant moves an active (or pending) tenant to SUSPENDED.
func (s *Service) SuspendTenant(ctx context.Context, slug string) (*ent.Tenant, error) {
	return s.transition(ctx, slug, "tenant.suspended", tenant.StatusSuspended,
		tenant.StatusActive, tenant.StatusPending)
}

// ResumeTenant moves a suspended tenant back to ACTIVE.
func (s *Service) ResumeTenant(ctx context.Context, slug string) (*ent.Tenant, error) {
	return s.transition(ctx, slug, "tenant.resumed", tenant.StatusActive, tenant.StatusSuspended)
}

// DeleteTenant soft-deletes a tenant (operators only): status DELETED, the
// slug stays reserved and its audit history stays readable.
func (s *Service) DeleteTenant(ctx context.Context, slug string) (*ent.Tenant, error) {
	return s.transition(ctx, slug, "tenant.deleted", tenant.StatusDeleted,
		tenant.StatusActive, tenant.StatusPending, tenant.StatusSuspended)
}

func (s *Service) transition(ctx context.Context, slug, action string, to tenant.Status, from ...tenant.Status) (*ent.Tenant, error) {
	var out *ent.Tenant
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		t, err := s.TenantBySlug(ctx, slug)
		if err != nil {
			return err
		}
		if to == tenant.StatusDeleted {
			// rule.TenantMutation denies it too; this answers before the
			// transition checks.
			if err := viewer.RequireOperator(ctx); err != nil {
				return err
			}
		}
		allowed := false
		for _, f := range from {
			allowed = allowed || t.Status == f
		}
		if !allowed {
			return apperr.Conflictf("tenant %q is %s", slug, strings.ToLower(string(t.Status)))
		}
		upd := c.Tenant.UpdateOne(t).SetStatus(to)
		if to == tenant.StatusDeleted {
			upd.SetDeletedAt(time.Now().UTC())
		}
		prev := t.Status
		t, err = upd.Save(ctx)
		if err != nil {
			return apperr.About(err, "tenant")
		}
		if to == tenant.StatusDeleted {
			if err := releaseDomains(ctx, c, t.ID); err != nil {
				return err
			}
		}
		out = t
		if err := s.notify(ctx, t, ChangeStatus); err != nil {
			return err
		}
		return audit.Record(ctx, audit.Event{
			Action: action, ResourceType: "tenant", ResourceID: strconv.Itoa(t.ID), ResourceName: t.Slug,
			Tenant: t, Metadata: map[string]any{"diff": map[string]any{"status": map[string]any{"from": prev, "to": t.Status}}},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "tenant")
	}
	return out, nil
}

// StatusCounts counts the visible tenants matching where, by status.
type StatusCounts struct {
	All, Active, Pending, Suspended int
}

// TenantStatusCounts counts visible, non-deleted tenants by status.
func (s *Service) TenantStatusCounts(ctx context.Context, where *ent.TenantWhereInput) (*StatusCounts, error) {
	q := db.Client(ctx, s.client).Tenant.Query()
	if where != nil {
		var err error
		if q, err = where.Filter(q); err != nil {
			return nil, apperr.Invalid("where", "%v", err)
		}
	}
	var rows []struct {
		Status tenant.Status `json:"status"`
		Count  int           `json:"count"`
	}
	if err := q.GroupBy(tenant.FieldStatus).Aggregate(ent.Count()).Scan(ctx, &rows); err != nil {
		return nil, apperr.About(err, "tenant")
	}
	var out StatusCounts
	for _, r := range rows {
		switch r.Status {
		case tenant.StatusActive:
			out.Active = r.Count
		case tenant.StatusPending:
			out.Pending = r.Count
		case tenant.StatusSuspended:
			out.Suspended = r.Count
		default:
			continue
		}
		out.All += r.Count
	}
	return &out, nil
}

// changesOf lists the provisioning-relevant fields that differ.
func changesOf(before, after *ent.Tenant) []Change {
	var out []Change
	if before.Name != after.Name {
		out = append(out, ChangeName)
	}
	if before.Plan != after.Plan {
		out = append(out, ChangePlan)
	}
	if before.Seats != after.Seats {
		out = append(out, ChangeSeats)
	}
	if strings.Join(before.Domains, ",") != strings.Join(after.Domains, ",") {
		out = append(out, ChangeDomains)
	}
	return out
}

// partnerOf loads the tenant's partner regardless of the viewer's partner
// visibility (for audit diffs only).
func partnerOf(ctx context.Context, c *ent.Client, t *ent.Tenant) (*ent.Partner, error) {
	if t.PartnerID == nil {
		return nil, nil
	}
	// The audit diff names the partner even when the viewer cannot see it.
	return c.Partner.Get(rule.Bypass(ctx), *t.PartnerID)
}

// tenantFields is the audited view of a tenant.
func tenantFields(t *ent.Tenant, p *ent.Partner) map[string]any {
	m := map[string]any{
		"name":       t.Name,
		"plan":       string(t.Plan),
		"seats":      t.Seats,
		"status":     string(t.Status),
		"domains":    t.Domains,
		"industry":   t.Industry,
		"brandColor": t.BrandColor,
		"partner":    "",
	}
	if p != nil {
		m["partner"] = p.Slug
	}
	return m
}
