package tenancy

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/partner"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/viewer"
)

// CreatePartnerInput is the input of CreatePartner. Blank optional strings
// are treated as absent.
type CreatePartnerInput struct {
	Slug           string
	Name           string
	Domain         *string
	Status         *partner.Status
	MarginPct      *int
	ContactName    *string
	ContactEmail   *string
	ContactPhone   *string
	BillingEmail   *string
	VatID          *string
	BillingCountry *string
}

// UpdatePartnerInput is the input of UpdatePartner: absent fields are left,
// blank or null optional strings unset the field.
type UpdatePartnerInput struct {
	Name           *string
	Domain         Clearable
	Status         *partner.Status
	MarginPct      *int
	ContactName    Clearable
	ContactEmail   Clearable
	ContactPhone   Clearable
	BillingEmail   Clearable
	VatID          Clearable
	BillingCountry Clearable
}

// PartnerBySlug returns a visible partner or NOT_FOUND.
func (s *Service) PartnerBySlug(ctx context.Context, slug string) (*ent.Partner, error) {
	p, err := db.Client(ctx, s.client).Partner.Query().Where(partner.Slug(slug)).Only(ctx)
	return p, apperr.About(err, "partner")
}

// CustomerCount counts the partner's tenants that are not deleted.
func (s *Service) CustomerCount(ctx context.Context, p *ent.Partner) (int, error) {
	n, err := db.Client(ctx, s.client).Tenant.Query().
		Where(tenant.PartnerID(p.ID), tenant.StatusNEQ(tenant.StatusDeleted)).Count(ctx)
	return n, apperr.About(err, "tenant")
}

func emailCheck(field string) func(string) error {
	return func(v string) error {
		if !strings.Contains(v, "@") || strings.ContainsAny(v, " \t\n") || !strings.Contains(v[strings.LastIndex(v, "@"):], ".") {
			return apperr.Invalid(field, "must be an e-mail address")
		}
		return nil
	}
}

func countryCheck(v string) error {
	if len(v) != 2 || strings.ToUpper(v) != v {
		return apperr.Invalid("billingCountry", "must be an ISO 3166-1 alpha-2 code such as DE")
	}
	return nil
}

func validateMargin(p *int) error {
	if p != nil && (*p < 0 || *p > 100) {
		return apperr.Invalid("marginPct", "must be between 0 and 100")
	}
	return nil
}

// CreatePartner creates a partner (operators only).
func (s *Service) CreatePartner(ctx context.Context, in CreatePartnerInput) (*ent.Partner, error) {
	// The Partner schema denies non-operators at Save; checking first keeps
	// input validation and lookups from answering a non-operator.
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
	if err := validateMargin(in.MarginPct); err != nil {
		return nil, err
	}
	var out *ent.Partner
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		if n, err := c.Partner.Query().Where(partner.Slug(in.Slug)).Count(ctx); err != nil {
			return err
		} else if n > 0 {
			return apperr.Conflictf("a partner with slug %q already exists", in.Slug)
		}
		create := c.Partner.Create().SetSlug(in.Slug).SetName(name).
			SetNillableStatus(in.Status).SetNillableMarginPct(in.MarginPct)
		for _, f := range []struct {
			field string
			v     *string
			set   func(string) *ent.PartnerCreate
			check func(string) error
		}{
			{"domain", in.Domain, create.SetDomain, nil},
			{"contactName", in.ContactName, create.SetContactName, nil},
			{"contactEmail", in.ContactEmail, create.SetContactEmail, emailCheck("contactEmail")},
			{"contactPhone", in.ContactPhone, create.SetContactPhone, nil},
			{"billingEmail", in.BillingEmail, create.SetBillingEmail, emailCheck("billingEmail")},
			{"vatId", in.VatID, create.SetVatID, nil},
			{"billingCountry", in.BillingCountry, create.SetBillingCountry, countryCheck},
		} {
			v := trimmed(f.v)
			if v == "" {
				continue
			}
			if f.check != nil {
				if err := f.check(v); err != nil {
					return err
				}
			}
			f.set(v)
		}
		p, err := create.Save(ctx)
		if err != nil {
			return apperr.About(err, "partner")
		}
		out = p
		return audit.Record(ctx, audit.Event{
			Action: "partner.created", ResourceType: "partner", ResourceID: strconv.Itoa(p.ID), ResourceName: p.Slug,
			Partner: p, Metadata: map[string]any{"after": partnerFields(p)},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "partner")
	}
	return out, nil
}

// UpdatePartner changes a partner (operators only) and records a diff of
// the fields that actually changed.
func (s *Service) UpdatePartner(ctx context.Context, slug string, in UpdatePartnerInput) (*ent.Partner, error) {
	// The Partner schema denies non-operators at Save; checking first keeps
	// input validation and lookups from answering a non-operator.
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	if err := validateMargin(in.MarginPct); err != nil {
		return nil, err
	}
	var out *ent.Partner
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		p, err := s.PartnerBySlug(ctx, slug)
		if err != nil {
			return err
		}
		before := partnerFields(p)
		upd := c.Partner.UpdateOne(p).SetNillableMarginPct(in.MarginPct)
		if in.Name != nil {
			name, err := checkName(*in.Name)
			if err != nil {
				return err
			}
			upd.SetName(name)
		}
		if in.Status != nil {
			if err := partner.StatusValidator(*in.Status); err != nil {
				return apperr.Invalid("status", "unknown status")
			}
			upd.SetStatus(*in.Status)
			if *in.Status == partner.StatusTerminated && p.TerminatedAt == nil {
				upd.SetTerminatedAt(time.Now().UTC())
			} else if *in.Status != partner.StatusTerminated {
				upd.ClearTerminatedAt()
			}
		}
		for _, f := range []struct {
			v     Clearable
			set   func(string) *ent.PartnerUpdateOne
			clear func() *ent.PartnerUpdateOne
			check func(string) error
		}{
			{in.Domain, upd.SetDomain, upd.ClearDomain, nil},
			{in.ContactName, upd.SetContactName, upd.ClearContactName, nil},
			{in.ContactEmail, upd.SetContactEmail, upd.ClearContactEmail, emailCheck("contactEmail")},
			{in.ContactPhone, upd.SetContactPhone, upd.ClearContactPhone, nil},
			{in.BillingEmail, upd.SetBillingEmail, upd.ClearBillingEmail, emailCheck("billingEmail")},
			{in.VatID, upd.SetVatID, upd.ClearVatID, nil},
			{in.BillingCountry, upd.SetBillingCountry, upd.ClearBillingCountry, countryCheck},
		} {
			v, ok := optional(f.v)
			switch {
			case !ok:
			case v == "":
				f.clear()
			default:
				if f.check != nil {
					if err := f.check(v); err != nil {
						return err
					}
				}
				f.set(v)
			}
		}
		oldMargin := p.MarginPct
		p, err = upd.Save(ctx)
		if err != nil {
			return apperr.About(err, "partner")
		}
		out = p
		if p.MarginPct != oldMargin {
			if err := recordMarginChange(ctx, c, p, oldMargin, p.MarginPct, time.Now()); err != nil {
				return err
			}
		}
		return audit.Record(ctx, audit.Event{
			Action: "partner.updated", ResourceType: "partner", ResourceID: strconv.Itoa(p.ID), ResourceName: p.Slug,
			Partner: p, Metadata: map[string]any{"diff": audit.Diff(before, partnerFields(p))},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "partner")
	}
	return out, nil
}

// TerminatePartner soft-deletes a partner (operators only): status
// TERMINATED. Its tenants keep their link; new tenants cannot attach.
func (s *Service) TerminatePartner(ctx context.Context, slug string) (*ent.Partner, error) {
	// The Partner schema denies non-operators at Save; checking first keeps
	// input validation and lookups from answering a non-operator.
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	var out *ent.Partner
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		p, err := s.PartnerBySlug(ctx, slug)
		if err != nil {
			return err
		}
		if p.Status == partner.StatusTerminated {
			return apperr.Conflictf("partner %q is already terminated", slug)
		}
		prev := p.Status
		p, err = c.Partner.UpdateOne(p).SetStatus(partner.StatusTerminated).SetTerminatedAt(time.Now().UTC()).Save(ctx)
		if err != nil {
			return apperr.About(err, "partner")
		}
		out = p
		return audit.Record(ctx, audit.Event{
			Action: "partner.terminated", ResourceType: "partner", ResourceID: strconv.Itoa(p.ID), ResourceName: p.Slug,
			Partner: p, Metadata: map[string]any{"diff": map[string]any{"status": map[string]any{"from": prev, "to": p.Status}}},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "partner")
	}
	return out, nil
}

// partnerFields is the audited view of a partner.
func partnerFields(p *ent.Partner) map[string]any {
	return map[string]any{
		"name":           p.Name,
		"domain":         p.Domain,
		"status":         string(p.Status),
		"marginPct":      p.MarginPct,
		"contactName":    p.ContactName,
		"contactEmail":   p.ContactEmail,
		"contactPhone":   p.ContactPhone,
		"billingEmail":   p.BillingEmail,
		"vatId":          p.VatID,
		"billingCountry": p.BillingCountry,
	}
}
