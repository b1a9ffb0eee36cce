package tenantadmin

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/partnersettings"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/tenantbranding"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/viewer"
)

// Platform defaults of the branding.
const (
	PlatformProductName = "Dezky"
	PlatformAccentColor = "#4f46e5"
	maxProductName      = 80
	maxLogoURL          = 2048
)

// Branding is a tenant's or partner's own branding; nil fields are unset.
type Branding struct {
	ProductName    *string
	AccentColor    *string
	LogoURL        *string
	EmailTemplates []schematype.EmailTemplate
}

// BrandingInput changes a branding: fields not Set are left, a Set field
// with a nil or blank value is cleared; EmailTemplates nil is left, a list
// replaces every override.
type BrandingInput struct {
	ProductName    tenancy.Clearable
	AccentColor    tenancy.Clearable
	LogoURL        tenancy.Clearable
	EmailTemplates []schematype.EmailTemplate
}

// BrandingValue is one effective value and its source.
type BrandingValue struct {
	Value  *string
	Source BrandingSource
}

// EffectiveEmailTemplate is an effective template and its source.
type EffectiveEmailTemplate struct {
	Key, Subject, Body string
	Source             BrandingSource
}

// EffectiveBranding is what a tenant's members see.
type EffectiveBranding struct {
	ProductName     BrandingValue
	AccentColor     BrandingValue
	AccentTextColor string
	LogoURL         BrandingValue
	EmailTemplates  []*EffectiveEmailTemplate
}

// EmailPreview is a template rendered with sample data.
type EmailPreview struct {
	Key, Subject, Body string
	Source             BrandingSource
}

// TenantBranding returns t's own branding (any member of t may read it).
func (s *Service) TenantBranding(ctx context.Context, t *ent.Tenant) (*Branding, error) {
	row, err := s.client(ctx).TenantBranding.Query().Where(tenantbranding.TenantID(t.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		return &Branding{EmailTemplates: []schematype.EmailTemplate{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tenantadmin: branding of %s: %w", t.Slug, err)
	}
	return &Branding{ProductName: row.ProductName, AccentColor: row.AccentColor, LogoURL: row.LogoURL, EmailTemplates: row.EmailTemplates}, nil
}

// PartnerBranding returns p's white-label branding (its staff, operators).
func (s *Service) PartnerBranding(ctx context.Context, p *ent.Partner) (*Branding, error) {
	row, err := s.partnerSettingsRow(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if row == nil {
		return &Branding{EmailTemplates: []schematype.EmailTemplate{}}, nil
	}
	return &Branding{ProductName: row.ProductName, AccentColor: row.AccentColor, LogoURL: row.LogoURL, EmailTemplates: row.EmailTemplates}, nil
}

func (s *Service) partnerSettingsRow(ctx context.Context, partnerID int) (*ent.PartnerSettings, error) {
	row, err := s.client(ctx).PartnerSettings.Query().Where(partnersettings.PartnerID(partnerID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tenantadmin: partner settings: %w", err)
	}
	return row, nil
}

// EffectiveBranding resolves t's branding field by field: the tenant's
// own value, else its partner's, else the platform default.
func (s *Service) EffectiveBranding(ctx context.Context, t *ent.Tenant) (*EffectiveBranding, error) {
	own, err := s.TenantBranding(ctx, t)
	if err != nil {
		return nil, err
	}
	partner := &Branding{}
	if t.PartnerID != nil {
		// A tenant's members may not read their partner's settings, but
		// they see its white-label branding: this one read looks past them.
		row, err := s.partnerSettingsRow(rule.Bypass(ctx), *t.PartnerID)
		if err != nil {
			return nil, err
		}
		if row != nil {
			partner = &Branding{ProductName: row.ProductName, AccentColor: row.AccentColor, LogoURL: row.LogoURL, EmailTemplates: row.EmailTemplates}
		}
	}
	pick := func(tv, pv *string, def *string) BrandingValue {
		switch {
		case tv != nil:
			return BrandingValue{Value: tv, Source: SourceTenant}
		case pv != nil:
			return BrandingValue{Value: pv, Source: SourcePartner}
		default:
			return BrandingValue{Value: def, Source: SourcePlatform}
		}
	}
	name, accent := PlatformProductName, PlatformAccentColor
	out := &EffectiveBranding{
		ProductName: pick(own.ProductName, partner.ProductName, &name),
		AccentColor: pick(own.AccentColor, partner.AccentColor, &accent),
		LogoURL:     pick(own.LogoURL, partner.LogoURL, nil),
	}
	out.AccentTextColor = ReadableTextColor(*out.AccentColor.Value)
	for _, spec := range EmailTemplates {
		e := &EffectiveEmailTemplate{Key: spec.Key, Subject: spec.Subject, Body: spec.Body, Source: SourcePlatform}
		if o, ok := findTemplate(partner.EmailTemplates, spec.Key); ok {
			e.Subject, e.Body, e.Source = o.Subject, o.Body, SourcePartner
		}
		if o, ok := findTemplate(own.EmailTemplates, spec.Key); ok {
			e.Subject, e.Body, e.Source = o.Subject, o.Body, SourceTenant
		}
		out.EmailTemplates = append(out.EmailTemplates, e)
	}
	return out, nil
}

func findTemplate(ts []schematype.EmailTemplate, key string) (schematype.EmailTemplate, bool) {
	for _, t := range ts {
		if t.Key == key {
			return t, true
		}
	}
	return schematype.EmailTemplate{}, false
}

// ReadableTextColor returns #000000 or #ffffff, whichever reads better on
// the #rrggbb background hex: black when its YIQ brightness
// (299 R + 587 G + 114 B) / 1000 is at least 128.
func ReadableTextColor(hex string) string {
	v, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	if err != nil || len(hex) != 7 {
		return "#ffffff"
	}
	r, g, b := v>>16&0xff, v>>8&0xff, v&0xff
	if (r*299+g*587+b*114)/1000 >= 128 {
		return "#000000"
	}
	return "#ffffff"
}

// PreviewEmail renders the tenant's effective template key with sample
// data (any member of the tenant).
func (s *Service) PreviewEmail(ctx context.Context, slug, key string) (*EmailPreview, error) {
	t, err := s.cfg.Tenancy.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	if templateSpec(key) == nil {
		return nil, apperr.Invalid("key", "unknown template key %q (known: %s)", key, templateKeys())
	}
	eff, err := s.EffectiveBranding(ctx, t)
	if err != nil {
		return nil, err
	}
	for _, e := range eff.EmailTemplates {
		if e.Key != key {
			continue
		}
		subject, err := render(key, e.Subject, *eff.ProductName.Value)
		if err != nil {
			return nil, err
		}
		body, err := render(key, e.Body, *eff.ProductName.Value)
		if err != nil {
			return nil, err
		}
		return &EmailPreview{Key: key, Subject: subject, Body: body, Source: e.Source}, nil
	}
	return nil, apperr.Invalid("key", "unknown template key %q", key)
}

// checkBranding validates and normalises in.
func checkBranding(in BrandingInput) (name, accent, logo *string, templates []schematype.EmailTemplate, err error) {
	if v, set := clearable(in.ProductName); set && v != "" {
		if len(v) > maxProductName {
			return nil, nil, nil, nil, apperr.Invalid("productName", "must be 1-%d bytes", maxProductName)
		}
		name = &v
	}
	if v, set := clearable(in.AccentColor); set && v != "" {
		c, ok := NormalizeColor(v)
		if !ok {
			return nil, nil, nil, nil, apperr.Invalid("accentColor", "must be a hex colour like #4f46e5 or #fff")
		}
		accent = &c
	}
	if v, set := clearable(in.LogoURL); set && v != "" {
		if err := checkHTTPSURL(v); err != nil {
			return nil, nil, nil, nil, apperr.Invalid("logoUrl", "%v", err)
		}
		logo = &v
	}
	if in.EmailTemplates != nil {
		if templates, err = checkTemplates(in.EmailTemplates); err != nil {
			return nil, nil, nil, nil, apperr.Invalid("emailTemplates", "%v", err)
		}
	}
	return name, accent, logo, templates, nil
}

// clearable reads a clearable string: value "" with set means clear.
func clearable(c tenancy.Clearable) (string, bool) {
	if !c.Set {
		return "", false
	}
	if c.Value == nil {
		return "", true
	}
	return strings.TrimSpace(*c.Value), true
}

// NormalizeColor turns #rgb or #rrggbb (any case) into lower-case #rrggbb.
func NormalizeColor(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.HasPrefix(s, "#") {
		return "", false
	}
	h := s[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return "", false
	}
	for _, r := range h {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return "", false
		}
	}
	return "#" + h, true
}

// checkHTTPSURL accepts an absolute https URL with a host, no user info.
func checkHTTPSURL(s string) error {
	if len(s) > maxLogoURL {
		return fmt.Errorf("at most %d bytes", maxLogoURL)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fmt.Errorf("must be an absolute https URL without user info")
	}
	return nil
}

// brandingFields is the audited view of a branding (templates by key
// only: their text is in the row).
func brandingFields(name, accent, logo *string, templates []schematype.EmailTemplate) map[string]any {
	keys := make([]string, len(templates))
	for i, t := range templates {
		keys[i] = t.Key
	}
	return map[string]any{"productName": name, "accentColor": accent, "logoUrl": logo, "emailTemplates": keys}
}

// UpdateTenantBranding changes the tenant's own branding, audited.
func (s *Service) UpdateTenantBranding(ctx context.Context, slug string, in BrandingInput) (*ent.Tenant, error) {
	var out *ent.Tenant
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		t, err := s.tenantFor(ctx, slug)
		if err != nil {
			return err
		}
		if err := tenancy.Writable(t); err != nil {
			return err
		}
		name, accent, logo, templates, err := checkBranding(in)
		if err != nil {
			return err
		}
		c := ent.FromContext(ctx)
		row, err := c.TenantBranding.Query().Where(tenantbranding.TenantID(t.ID)).Only(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return err
		}
		if row == nil {
			row, err = c.TenantBranding.Create().SetTenantID(t.ID).Save(ctx)
			if err != nil {
				return apperr.About(err, "branding")
			}
		}
		before := brandingFields(row.ProductName, row.AccentColor, row.LogoURL, row.EmailTemplates)
		upd := c.TenantBranding.UpdateOne(row)
		if _, set := clearable(in.ProductName); set {
			upd.SetNillableProductName(name)
			if name == nil {
				upd.ClearProductName()
			}
		}
		if _, set := clearable(in.AccentColor); set {
			upd.SetNillableAccentColor(accent)
			if accent == nil {
				upd.ClearAccentColor()
			}
		}
		if _, set := clearable(in.LogoURL); set {
			upd.SetNillableLogoURL(logo)
			if logo == nil {
				upd.ClearLogoURL()
			}
		}
		if templates != nil {
			upd.SetEmailTemplates(templates)
		}
		if row, err = upd.Save(ctx); err != nil {
			return apperr.About(err, "branding")
		}
		out = t
		return audit.Record(ctx, audit.Event{
			Action: "tenant.branding_updated", ResourceType: "branding", ResourceID: strconv.Itoa(row.ID),
			ResourceName: t.Slug, Tenant: t,
			Metadata: map[string]any{"diff": audit.Diff(before, brandingFields(row.ProductName, row.AccentColor, row.LogoURL, row.EmailTemplates))},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "branding")
	}
	return out, nil
}

// partnerFor loads a partner the viewer can see and requires its staff or
// an operator.
func (s *Service) partnerFor(ctx context.Context, slug string) (*ent.Partner, error) {
	p, err := s.cfg.Tenancy.PartnerBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	if v := viewer.FromContext(ctx); !v.Privileged() && (v == nil || v.PartnerID != p.ID) {
		return nil, apperr.Forbiddenf("only the partner's staff and operators may do this")
	}
	return p, nil
}

// ensurePartnerSettings returns the partner's settings row, creating an
// empty one.
func ensurePartnerSettings(ctx context.Context, c *ent.Client, partnerID int) (*ent.PartnerSettings, error) {
	row, err := c.PartnerSettings.Query().Where(partnersettings.PartnerID(partnerID)).Only(ctx)
	if ent.IsNotFound(err) {
		return c.PartnerSettings.Create().SetPartnerID(partnerID).Save(ctx)
	}
	return row, err
}

// UpdatePartnerBranding changes a partner's white-label branding, audited.
func (s *Service) UpdatePartnerBranding(ctx context.Context, slug string, in BrandingInput) (*ent.Partner, error) {
	var out *ent.Partner
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		p, err := s.partnerFor(ctx, slug)
		if err != nil {
			return err
		}
		name, accent, logo, templates, err := checkBranding(in)
		if err != nil {
			return err
		}
		c := ent.FromContext(ctx)
		row, err := ensurePartnerSettings(ctx, c, p.ID)
		if err != nil {
			return apperr.About(err, "partner settings")
		}
		before := brandingFields(row.ProductName, row.AccentColor, row.LogoURL, row.EmailTemplates)
		upd := c.PartnerSettings.UpdateOne(row)
		if _, set := clearable(in.ProductName); set {
			upd.SetNillableProductName(name)
			if name == nil {
				upd.ClearProductName()
			}
		}
		if _, set := clearable(in.AccentColor); set {
			upd.SetNillableAccentColor(accent)
			if accent == nil {
				upd.ClearAccentColor()
			}
		}
		if _, set := clearable(in.LogoURL); set {
			upd.SetNillableLogoURL(logo)
			if logo == nil {
				upd.ClearLogoURL()
			}
		}
		if templates != nil {
			upd.SetEmailTemplates(templates)
		}
		if row, err = upd.Save(ctx); err != nil {
			return apperr.About(err, "partner settings")
		}
		out = p
		return audit.Record(ctx, audit.Event{
			Action: "partner.branding_updated", ResourceType: "partner_branding", ResourceID: strconv.Itoa(row.ID),
			ResourceName: p.Slug, Partner: p,
			Metadata: map[string]any{"diff": audit.Diff(before, brandingFields(row.ProductName, row.AccentColor, row.LogoURL, row.EmailTemplates))},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "partner settings")
	}
	return out, nil
}
