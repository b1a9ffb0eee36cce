package graph

import (
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/internal/tenantadmin"
)

func (in BrandingInput) toTenantAdmin() tenantadmin.BrandingInput {
	out := tenantadmin.BrandingInput{
		ProductName: clearable(in.ProductName),
		AccentColor: clearable(in.AccentColor),
		LogoURL:     clearable(in.LogoURL),
	}
	if in.EmailTemplates != nil {
		out.EmailTemplates = make([]schematype.EmailTemplate, 0, len(in.EmailTemplates))
		for _, t := range in.EmailTemplates {
			out.EmailTemplates = append(out.EmailTemplates, *t)
		}
	}
	return out
}

func (in UpdatePartnerSettingsInput) toTenantAdmin() tenantadmin.UpdatePartnerSettingsInput {
	return tenantadmin.UpdatePartnerSettingsInput{
		SupportEmail: clearable(in.SupportEmail),
		SupportURL:   clearable(in.SupportURL),
		DefaultPlan:  in.DefaultPlan,
	}
}
