package graph

import (
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/webhooks"
)

// The update inputs carry gqlgen's Omittable (absent vs null); the tenancy
// service takes its own Clearable so that it does not depend on the
// GraphQL layer.

func clearable(o graphql.Omittable[*string]) tenancy.Clearable {
	v, ok := o.ValueOK()
	return tenancy.Clearable{Set: ok, Value: v}
}

func (in UpdateTenantInput) toTenancy() tenancy.UpdateTenantInput {
	return tenancy.UpdateTenantInput{
		Name:        in.Name,
		Plan:        in.Plan,
		Seats:       in.Seats,
		Domains:     in.Domains,
		Industry:    clearable(in.Industry),
		BrandColor:  clearable(in.BrandColor),
		PartnerSlug: clearable(in.PartnerSlug),
	}
}

func (in UpdatePartnerInput) toTenancy() tenancy.UpdatePartnerInput {
	return tenancy.UpdatePartnerInput{
		Name:           in.Name,
		Domain:         clearable(in.Domain),
		Status:         in.Status,
		MarginPct:      in.MarginPct,
		ContactName:    clearable(in.ContactName),
		ContactEmail:   clearable(in.ContactEmail),
		ContactPhone:   clearable(in.ContactPhone),
		BillingEmail:   clearable(in.BillingEmail),
		VatID:          clearable(in.VatID),
		BillingCountry: clearable(in.BillingCountry),
	}
}

// gracePeriod converts rotateWebhookSecret's hours (nil: the default).
func gracePeriod(hours *int) time.Duration {
	if hours == nil {
		return webhooks.DefaultGracePeriod
	}
	if *hours < 0 || *hours > int(webhooks.MaxGracePeriod/time.Hour) {
		return -1 // refused by the service
	}
	return time.Duration(*hours) * time.Hour
}
