package billing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/billingaccount"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/oneshot"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/plugins/sdk"
)

// Setup is what a browser needs to collect a payment method with the
// provider's own form (Stripe Elements). ClientSecret is shown once.
type Setup struct {
	// ClientSecret is nil in an Idempotency-Key replay.
	ClientSecret   *string
	PublishableKey string
}

// Card is the tenant's default card as the provider described it.
type Card struct {
	Brand    string
	Last4    string
	ExpMonth int
	ExpYear  int
}

// PaymentMethod returns t's default card, nil when none is known.
func (s *Service) PaymentMethod(ctx context.Context, t *ent.Tenant) (*Card, error) {
	if err := tenancy.RequireAdmin(ctx, t); err != nil {
		return nil, err
	}
	a, err := s.account(ctx, t.ID)
	if err != nil || a == nil {
		return nil, err
	}
	return cardOf(a), nil
}

func cardOf(a *ent.BillingAccount) *Card {
	if a.CardBrand == "" {
		return nil
	}
	return &Card{Brand: a.CardBrand, Last4: a.CardLast4, ExpMonth: a.CardExpMonth, ExpYear: a.CardExpYear}
}

// CreatePaymentMethodSetup starts collecting a payment method for the
// tenant's customer at the provider. The client secret is returned once:
// it is marked so that an Idempotency-Key replay answers null, and it is
// never stored, logged or audited (the audit event names the setup
// intent only).
func (s *Service) CreatePaymentMethodSetup(ctx context.Context, slug string) (*Setup, error) {
	var out *Setup
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		t, err := s.cfg.Tenancy.AdministeredTenant(ctx, slug)
		if err != nil {
			return err
		}
		if err := tenancy.Writable(t); err != nil {
			return err
		}
		cust, err := s.requireCustomer(ctx, t)
		if err != nil {
			return err
		}
		b, err := s.provider()
		if err != nil {
			return err
		}
		si, err := b.CreateSetupIntent(ctx, cust)
		if err != nil {
			return apperr.Upstream("billing", err)
		}
		if err := s.rememberCustomer(ctx, t, cust); err != nil {
			return err
		}
		if si.ClientSecret == "" {
			return apperr.UpstreamUnavailable("billing", sdk.Errorf(sdk.CodeInternal, "setup intent %s has no client secret", si.ID))
		}
		if err := audit.Record(ctx, audit.Event{
			Action: "billing.payment_method_setup_started", ResourceType: "setup_intent", ResourceID: si.ID, ResourceName: t.Slug,
			Tenant: t, Metadata: map[string]any{"customerId": cust},
		}); err != nil {
			return err
		}
		oneshot.Mark(ctx, si.ClientSecret)
		secret := si.ClientSecret
		out = &Setup{ClientSecret: &secret, PublishableKey: si.PublishableKey}
		return nil
	})
	if err != nil {
		return nil, apperr.About(err, "payment method setup")
	}
	return out, nil
}

// SetDefaultPaymentMethod makes paymentMethodID (collected with a setup,
// so attached to the tenant's customer) the default for the tenant's
// invoices at the provider, then reads its card from the provider and
// records it, audited. With a provider that cannot describe payment
// methods (protocol before v2.1) the card is recorded when the provider's
// payment_method.attached webhook arrives, and nil is returned.
func (s *Service) SetDefaultPaymentMethod(ctx context.Context, slug, paymentMethodID string) (*Card, error) {
	pm := strings.TrimSpace(paymentMethodID)
	if pm == "" || len(pm) > 255 || strings.ContainsAny(pm, " /?#") || inputcheck.Line(pm) != nil {
		return nil, apperr.Invalid("paymentMethodId", "is not a payment method id")
	}
	var out *Card
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		t, err := s.cfg.Tenancy.AdministeredTenant(ctx, slug)
		if err != nil {
			return err
		}
		if err := tenancy.Writable(t); err != nil {
			return err
		}
		cust, err := s.requireCustomer(ctx, t)
		if err != nil {
			return err
		}
		b, err := s.provider()
		if err != nil {
			return err
		}
		var card sdk.Card
		known := false
		if d, ok := b.(sdk.PaymentMethods); ok {
			// Reading it first also refuses another customer's payment
			// method before anything changes.
			card, err = d.GetPaymentMethod(ctx, cust, pm)
			switch {
			case err == nil:
				known = true
			case sdk.IsUnsupported(err):
			default:
				return apperr.Upstream("billing", err)
			}
		}
		if err := b.SetDefaultPaymentMethod(ctx, cust, pm); err != nil {
			return apperr.Upstream("billing", err)
		}
		now := time.Now().UTC()
		c := ent.FromContext(ctx)
		create := c.BillingAccount.Create().SetTenantID(t.ID).SetPaymentMethodID(pm).SetProviderCustomerID(cust)
		fields := func(u *ent.BillingAccountUpsert) {
			u.SetPaymentMethodID(pm).SetProviderCustomerID(cust).UpdateUpdatedAt()
			if known {
				u.SetCardBrand(card.Brand).SetCardLast4(card.Last4).SetCardExpMonth(card.ExpMonth).SetCardExpYear(card.ExpYear).SetCardEventAt(now)
			} else {
				u.SetCardBrand("").SetCardLast4("").SetCardExpMonth(0).SetCardExpYear(0)
			}
		}
		if known {
			create.SetCardBrand(card.Brand).SetCardLast4(card.Last4).SetCardExpMonth(card.ExpMonth).SetCardExpYear(card.ExpYear).SetCardEventAt(now)
		}
		if err := create.OnConflictColumns(billingaccount.FieldTenantID).Update(fields).Exec(ctx); err != nil {
			return apperr.About(err, "payment method")
		}
		md := map[string]any{"paymentMethodId": pm}
		if known && card.Brand != "" {
			md["brand"], md["last4"] = card.Brand, card.Last4
			out = &Card{Brand: card.Brand, Last4: card.Last4, ExpMonth: card.ExpMonth, ExpYear: card.ExpYear}
		}
		return audit.Record(ctx, audit.Event{
			Action: "billing.payment_method_set", ResourceType: "payment_method", ResourceID: pm, ResourceName: t.Slug,
			Tenant: t, Metadata: md,
		})
	})
	if err != nil {
		return nil, apperr.About(err, "payment method")
	}
	return out, nil
}

// rememberCustomer records cust as t's customer at the provider on its
// billing account, so that webhooks about the customer reach the tenant
// even without a subscription.
func (s *Service) rememberCustomer(ctx context.Context, t *ent.Tenant, cust string) error {
	err := s.client(ctx).BillingAccount.Create().SetTenantID(t.ID).SetProviderCustomerID(cust).
		OnConflictColumns(billingaccount.FieldTenantID).
		Update(func(u *ent.BillingAccountUpsert) { u.SetProviderCustomerID(cust) }).Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: record customer of %s: %w", t.Slug, err)
	}
	return nil
}
