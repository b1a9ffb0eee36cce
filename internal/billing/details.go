package billing

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/billingaccount"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/tenancy"
)

// Limits of the billing details.
const (
	maxCompanyName = 200
	maxEmail       = 254
)

// Details are what a tenant's invoices are addressed to. Empty fields are
// unset.
type Details struct {
	CompanyName  string
	VATID        string
	Country      string
	BillingEmail string
}

// DetailsInput changes billing details: a nil field is kept, an empty
// (or blank) one unsets the field.
type DetailsInput struct {
	CompanyName  *string
	VATID        *string
	Country      *string
	BillingEmail *string
}

// Details returns t's billing details (all empty when never set).
func (s *Service) Details(ctx context.Context, t *ent.Tenant) (*Details, error) {
	if err := tenancy.RequireAdmin(ctx, t); err != nil {
		return nil, err
	}
	a, err := s.account(ctx, t.ID)
	if err != nil || a == nil {
		return &Details{}, err
	}
	return detailsOf(a), nil
}

func detailsOf(a *ent.BillingAccount) *Details {
	return &Details{CompanyName: a.CompanyName, VATID: a.VatID, Country: a.Country, BillingEmail: a.BillingEmail}
}

// UpdateDetails validates in, applies it to the tenant's billing details,
// records which fields changed in the audit trail (not their values: they
// are the customer's data) and queues the billing job that mirrors them to
// the provider's customer, all in one transaction. A refused input changes
// nothing.
func (s *Service) UpdateDetails(ctx context.Context, slug string, in DetailsInput) (*Details, error) {
	var out *Details
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		t, err := s.cfg.Tenancy.AdministeredTenant(ctx, slug)
		if err != nil {
			return err
		}
		if err := tenancy.Writable(t); err != nil {
			return err
		}
		a, err := s.account(ctx, t.ID)
		if err != nil {
			return err
		}
		cur := &Details{}
		if a != nil {
			cur = detailsOf(a)
		}
		next, err := applyDetails(*cur, in)
		if err != nil {
			return err
		}
		changed := changedFields(*cur, next)
		out = &next
		if len(changed) == 0 {
			return nil
		}
		c := ent.FromContext(ctx)
		err = c.BillingAccount.Create().SetTenantID(t.ID).
			SetCompanyName(next.CompanyName).SetVatID(next.VATID).SetCountry(next.Country).SetBillingEmail(next.BillingEmail).
			OnConflictColumns(billingaccount.FieldTenantID).
			Update(func(u *ent.BillingAccountUpsert) {
				u.SetCompanyName(next.CompanyName).SetVatID(next.VATID).SetCountry(next.Country).SetBillingEmail(next.BillingEmail).UpdateUpdatedAt()
			}).Exec(ctx)
		if err != nil {
			return apperr.About(err, "billing details")
		}
		if err := audit.Record(ctx, audit.Event{
			Action: "billing.details_updated", ResourceType: "billing_details", ResourceID: t.Slug, ResourceName: t.Slug,
			Tenant: t, Metadata: map[string]any{"changed": changed},
		}); err != nil {
			return err
		}
		if s.cfg.Provisioning == nil {
			return nil
		}
		return s.cfg.Provisioning.EnqueueBilling(ctx, t, "billing details")
	})
	if err != nil {
		return nil, apperr.About(err, "billing details")
	}
	return out, nil
}

// applyDetails returns cur changed by in, normalised and validated.
func applyDetails(cur Details, in DetailsInput) (Details, error) {
	next := cur
	if in.CompanyName != nil {
		v := strings.TrimSpace(*in.CompanyName)
		if len(v) > maxCompanyName {
			return Details{}, apperr.Invalid("companyName", "must be at most %d bytes", maxCompanyName)
		}
		if err := inputcheck.Line(v); err != nil {
			return Details{}, apperr.Invalid("companyName", "%v", err)
		}
		next.CompanyName = v
	}
	if in.Country != nil {
		v := strings.ToUpper(strings.TrimSpace(*in.Country))
		if v != "" && !inputcheck.IsCountry(v) {
			return Details{}, apperr.Invalid("country", "%q is not an ISO 3166-1 alpha-2 country code", *in.Country)
		}
		next.Country = v
	}
	if in.VATID != nil {
		v, err := NormalizeVATID(*in.VATID)
		if err != nil {
			return Details{}, apperr.Invalid("vatId", "%v", err)
		}
		next.VATID = v
	}
	if in.BillingEmail != nil {
		v := strings.TrimSpace(*in.BillingEmail)
		if v != "" {
			a, err := mail.ParseAddress(v)
			if err != nil || a.Address != v || a.Name != "" || len(v) > maxEmail || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
				return Details{}, apperr.Invalid("billingEmail", "%q is not an e-mail address", v)
			}
		}
		next.BillingEmail = v
	}
	if next.VATID != "" && next.Country != "" && vatCountry(next.VATID) != next.Country {
		return Details{}, apperr.Invalid("vatId", "the VAT number %s is not from the billing country %s", next.VATID, next.Country)
	}
	return next, nil
}

// euVAT maps the VAT prefixes of the EU member states (and XI, Northern
// Ireland) to their ISO 3166-1 country: Greece uses EL.
var euVAT = map[string]string{
	"AT": "AT", "BE": "BE", "BG": "BG", "CY": "CY", "CZ": "CZ", "DE": "DE", "DK": "DK", "EE": "EE",
	"EL": "GR", "ES": "ES", "FI": "FI", "FR": "FR", "HR": "HR", "HU": "HU", "IE": "IE", "IT": "IT",
	"LT": "LT", "LU": "LU", "LV": "LV", "MT": "MT", "NL": "NL", "PL": "PL", "PT": "PT", "RO": "RO",
	"SE": "SE", "SI": "SI", "SK": "SK", "XI": "GB",
}

// vatBody is the part after the prefix: 2 to 12 letters and digits (some
// states use + and * in theirs).
var vatBody = regexp.MustCompile(`^[0-9A-Z+*]{2,12}$`)

// NormalizeVATID returns an EU VAT number in its canonical form (upper
// case, without spaces, dots or dashes), "" for a blank one, or an error
// naming what is wrong. The number's checksum is not verified here: the
// provider and the tax authority's VIES service own that.
func NormalizeVATID(raw string) (string, error) {
	v := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '\t':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(raw)))
	if v == "" {
		return "", nil
	}
	if len(v) < 4 {
		return "", fmt.Errorf("%q is too short for a VAT number", raw)
	}
	if _, ok := euVAT[v[:2]]; !ok {
		return "", fmt.Errorf("%q does not start with an EU VAT country prefix (DE, FR, EL, ...)", raw)
	}
	if !vatBody.MatchString(v[2:]) {
		return "", fmt.Errorf("%q must be the country prefix and 2 to 12 letters or digits", raw)
	}
	return v, nil
}

// vatCountry is the ISO country of a normalised VAT number.
func vatCountry(vat string) string { return euVAT[vat[:2]] }

// changedFields names the fields (in GraphQL terms) that differ.
func changedFields(a, b Details) []string {
	var out []string
	if a.CompanyName != b.CompanyName {
		out = append(out, "companyName")
	}
	if a.VATID != b.VATID {
		out = append(out, "vatId")
	}
	if a.Country != b.Country {
		out = append(out, "country")
	}
	if a.BillingEmail != b.BillingEmail {
		out = append(out, "billingEmail")
	}
	return out
}
