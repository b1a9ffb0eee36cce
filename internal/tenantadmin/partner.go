package tenantadmin

import (
	"context"
	"net/mail"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/partnersettings"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/tenancy"
)

// PartnerSettings are a partner's support contacts and customer defaults.
type PartnerSettings struct {
	SupportEmail *string
	SupportURL   *string
	DefaultPlan  *tenant.Plan
}

// UpdatePartnerSettingsInput changes partner settings: fields not Set are
// left, Set with nil or blank clears.
type UpdatePartnerSettingsInput struct {
	SupportEmail tenancy.Clearable
	SupportURL   tenancy.Clearable
	DefaultPlan  graphql.Omittable[*tenant.Plan]
}

// Settings returns p's settings (its staff, operators).
func (s *Service) Settings(ctx context.Context, p *ent.Partner) (*PartnerSettings, error) {
	row, err := s.partnerSettingsRow(ctx, p.ID)
	if err != nil || row == nil {
		return &PartnerSettings{}, err
	}
	return settingsView(row), nil
}

func settingsView(row *ent.PartnerSettings) *PartnerSettings {
	out := &PartnerSettings{SupportEmail: row.SupportEmail, SupportURL: row.SupportURL}
	if row.DefaultPlan != nil {
		p := tenant.Plan(*row.DefaultPlan)
		out.DefaultPlan = &p
	}
	return out
}

func settingsFields(p *PartnerSettings) map[string]any {
	return map[string]any{"supportEmail": p.SupportEmail, "supportUrl": p.SupportURL, "defaultPlan": p.DefaultPlan}
}

// UpdatePartnerSettings validates and changes a partner's settings, audited.
func (s *Service) UpdatePartnerSettings(ctx context.Context, slug string, in UpdatePartnerSettingsInput) (*ent.Partner, error) {
	var out *ent.Partner
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		p, err := s.partnerFor(ctx, slug)
		if err != nil {
			return err
		}
		c := ent.FromContext(ctx)
		row, err := ensurePartnerSettings(ctx, c, p.ID)
		if err != nil {
			return apperr.About(err, "partner settings")
		}
		before := settingsView(row)
		upd := c.PartnerSettings.UpdateOne(row)
		if v, set := clearable(in.SupportEmail); set {
			if v == "" {
				upd.ClearSupportEmail()
			} else if a, err := mail.ParseAddress(v); err != nil || a.Address != v || len(v) > 254 {
				return apperr.Invalid("supportEmail", "must be a plain e-mail address like support@example.com")
			} else {
				upd.SetSupportEmail(v)
			}
		}
		if v, set := clearable(in.SupportURL); set {
			if v == "" {
				upd.ClearSupportURL()
			} else if err := checkHTTPSURL(v); err != nil {
				return apperr.Invalid("supportUrl", "%v", err)
			} else {
				upd.SetSupportURL(v)
			}
		}
		if plan, set := in.DefaultPlan.ValueOK(); set {
			if plan == nil {
				upd.ClearDefaultPlan()
			} else if err := tenant.PlanValidator(*plan); err != nil {
				return apperr.Invalid("defaultPlan", "unknown plan")
			} else {
				upd.SetDefaultPlan(partnersettings.DefaultPlan(*plan))
			}
		}
		if row, err = upd.Save(ctx); err != nil {
			return apperr.About(err, "partner settings")
		}
		out = p
		return audit.Record(ctx, audit.Event{
			Action: "partner.settings_updated", ResourceType: "partner_settings", ResourceID: strconv.Itoa(row.ID),
			ResourceName: p.Slug, Partner: p,
			Metadata: map[string]any{"diff": audit.Diff(settingsFields(before), settingsFields(settingsView(row)))},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "partner settings")
	}
	return out, nil
}

// DefaultPlan returns the default plan of a partner's new customers, nil
// when the partner has none. ctx must be allowed to read the partner's
// settings (the operator creating a tenant).
func DefaultPlan(ctx context.Context, c *ent.Client, partnerID int) (*tenant.Plan, error) {
	row, err := c.PartnerSettings.Query().Where(partnersettings.PartnerID(partnerID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return settingsView(row).DefaultPlan, nil
}
