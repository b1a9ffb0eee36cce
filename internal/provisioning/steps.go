package provisioning

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/billingaccount"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/money"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// Keys of the upstream IDs recorded per integration.
const (
	extGroupID        = "group_id"
	extGroupName      = "group_name"
	extSpaceID        = "space_id"
	extQuotaBytes     = "quota_bytes"
	extCustomerID     = "customer_id"
	extPriceID        = "price_id"
	extProductKey     = "product_key"
	extSubscriptionID = "subscription_id"
	extSubStatus      = "subscription_status"
	extSubGeneration  = "subscription_generation"
	extDomain         = "domain"
)

// Keys of the upstream ids other packages read from
// IntegrationStatus.External.
const (
	// ExternalGroupID is the tenant's identity group id (Identity).
	ExternalGroupID = extGroupID
	// ExternalCustomerID is the tenant's billing customer id (Billing).
	ExternalCustomerID = extCustomerID
	// ExternalSpaceID is the tenant's storage space id (Storage).
	ExternalSpaceID = extSpaceID
)

// GroupName is the identity group of a tenant.
func GroupName(slug string) string { return "tenant-" + slug }

// CustomerKey is the billing customer's external key of a tenant.
func CustomerKey(slug string) string { return "tenant:" + slug }

// SubscriptionKey is the billing subscription's external key of a tenant;
// generation counts subscriptions ended because the tenant stopped being
// billable (the first is generation 1 and keyed like the customer).
func SubscriptionKey(slug string, generation int) string {
	if generation <= 1 {
		return "tenant:" + slug
	}
	return "tenant:" + slug + ":" + strconv.Itoa(generation)
}

// ProductKey is the billing product key of a plan.
func ProductKey(p tenant.Plan) string { return "dezky-plan-" + strings.ToLower(string(p)) }

// SpaceName is the storage space name of a tenant: its name without the
// characters file storage services forbid in space names (/\.:?*"><|).
func SpaceName(t *ent.Tenant) string {
	name := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\.:?*"><|`, r) {
			return -1
		}
		return r
	}, t.Name)
	if name = strings.Join(strings.Fields(name), " "); name == "" {
		return t.Slug
	}
	return name
}

// PrimaryDomain is the tenant's first domain, "" when it has none.
func PrimaryDomain(t *ent.Tenant) string {
	if len(t.Domains) == 0 {
		return ""
	}
	return t.Domains[0]
}

// state loads the recorded external IDs of an integration.
func (s *Service) state(ctx context.Context, t *ent.Tenant, i Integration) (map[string]string, error) {
	r, err := s.cfg.Client.ProvisioningState.Query().
		Where(provisioningstate.TenantID(t.ID), provisioningstate.IntegrationEQ(i)).Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("provisioning: load %s state: %w", i, err)
	}
	out := maps.Clone(r.External)
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

// setState records an integration's status; external (when not nil)
// replaces the recorded upstream IDs.
func (s *Service) setState(ctx context.Context, t *ent.Tenant, i Integration, st Status, msg string, external map[string]string) error {
	sys := viewer.SystemContext(context.WithoutCancel(ctx))
	err := db.WithTx(sys, s.cfg.Client, func(ctx context.Context) error {
		create := ent.FromContext(ctx).ProvisioningState.Create().
			SetTenantID(t.ID).SetIntegration(i).SetStatus(st).SetMessage(msg)
		if external != nil {
			create.SetExternal(external)
		}
		// One statement on the (tenant_id, integration) unique index: the
		// row is created or its status, message, updated_at (and, when
		// given, external IDs) replaced; tenant_id and integration stay.
		up := create.OnConflictColumns(provisioningstate.FieldTenantID, provisioningstate.FieldIntegration).
			UpdateStatus().UpdateMessage().UpdateUpdatedAt()
		if external != nil {
			up.UpdateExternal()
		}
		return up.Exec(ctx)
	})
	if err != nil {
		return fmt.Errorf("provisioning: record %s status: %w", i, err)
	}
	return nil
}

// step converges one integration. It returns the status message and the
// upstream IDs known afterwards, including those learnt before a failure;
// the caller records them. errSkipped: the capability is not configured.
func (s *Service) step(ctx context.Context, t *ent.Tenant, i Integration) (string, map[string]string, error) {
	if s.cfg.Providers == nil {
		return "", nil, errSkipped
	}
	ext, err := s.state(ctx, t, i)
	if err != nil {
		return "", nil, err
	}
	var msg string
	switch i {
	case Identity:
		msg, err = s.stepIdentity(ctx, t, ext)
	case Storage:
		msg, err = s.stepStorage(ctx, t, ext)
	case Billing:
		msg, err = s.stepBilling(ctx, t, ext)
	case Mail:
		msg, err = s.stepMail(ctx, t, ext)
	default:
		return "", nil, fmt.Errorf("provisioning: unknown integration %q", i)
	}
	if sdk.IsUnsupported(err) {
		return "", nil, errSkipped
	}
	return msg, ext, err
}

func (s *Service) stepIdentity(ctx context.Context, t *ent.Tenant, ext map[string]string) (string, error) {
	idp, err := s.cfg.Providers.Identity()
	if err != nil {
		return "", err
	}
	if t.Status == tenant.StatusDeleted {
		return "tenant deleted: group left in place", nil
	}
	name := GroupName(t.Slug)
	g, err := idp.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: name, Attributes: map[string]string{"dezky_tenant": t.Slug, "dezky_tenant_name": t.Name}})
	s.record(ctx, t, Identity, "group_ensured", err, map[string]any{"group": name, "groupId": g.ID})
	if err != nil {
		return "", err
	}
	ext[extGroupID], ext[extGroupName] = g.ID, g.Name
	return "group " + g.Name + " ready", nil
}

func (s *Service) stepStorage(ctx context.Context, t *ent.Tenant, ext map[string]string) (string, error) {
	st, err := s.cfg.Providers.Storage()
	if err != nil {
		return "", err
	}
	if t.Status == tenant.StatusDeleted {
		return "tenant deleted: space left in place", nil
	}
	spec := s.cfg.Catalog[t.Plan]
	sp, err := st.EnsureSpace(ctx, sdk.EnsureSpaceRequest{TenantKey: t.Slug, Name: SpaceName(t), QuotaBytes: spec.QuotaBytes})
	s.record(ctx, t, Storage, "space_ensured", err, map[string]any{"tenantKey": t.Slug, "spaceId": sp.ID, "quotaBytes": spec.QuotaBytes})
	if err != nil {
		return "", err
	}
	ext[extSpaceID], ext[extQuotaBytes] = sp.ID, strconv.FormatInt(sp.QuotaBytes, 10)
	return fmt.Sprintf("space %s ready, quota %d bytes", sp.ID, sp.QuotaBytes), nil
}

func (s *Service) stepMail(ctx context.Context, t *ent.Tenant, ext map[string]string) (string, error) {
	m, err := s.cfg.Providers.Mail()
	if err != nil {
		return "", err
	}
	if t.Status == tenant.StatusDeleted {
		return "tenant deleted: domain left in place", nil
	}
	d := PrimaryDomain(t)
	if d == "" {
		return "no primary domain: nothing to provision", nil
	}
	dom, err := m.CreateDomain(ctx, sdk.CreateDomainRequest{Name: d})
	s.record(ctx, t, Mail, "domain_ensured", err, map[string]any{"domain": d})
	if err != nil {
		return "", err
	}
	ext[extDomain] = dom.Name
	return fmt.Sprintf("domain %s ready (%d DNS records to publish)", dom.Name, len(dom.DNSRecords)), nil
}

// billable reports whether the tenant should have a running subscription.
// stepBilling mirrors the tenant's subscription row (internal/subscriptions,
// the source of truth for what it pays) to the billing provider: a live
// row gets a customer, a provider price for its currency and amount, and a
// provider subscription on that price with the row's quantity, paused
// while the row is PAUSED; a CANCELED row (or none) cancels the provider
// subscription. The provider ids and period end are written back to the
// row; a failure is recorded on it (sync_error) and the job retries.
func (s *Service) stepBilling(ctx context.Context, t *ent.Tenant, ext map[string]string) (string, error) {
	b, err := s.cfg.Providers.Billing()
	if err != nil {
		return "", err
	}
	local, err := subscriptions.Of(ctx, s.cfg.Client, t.ID)
	if err != nil {
		return "", err
	}
	msg, err := s.mirrorBilling(ctx, b, t, local, ext)
	if local != nil {
		s.syncResult(ctx, local, err)
	}
	return msg, err
}

func (s *Service) mirrorBilling(ctx context.Context, b sdk.Billing, t *ent.Tenant, local *ent.TenantSubscription, ext map[string]string) (string, error) {
	gen, _ := strconv.Atoi(ext[extSubGeneration])
	gen = max(gen, 1)
	subID := ext[extSubscriptionID]
	live := subID != "" && ext[extSubStatus] != "canceled"

	if local == nil || local.Status == tenantsubscription.StatusCanceled {
		if live {
			sub, err := b.CancelSubscription(ctx, subID)
			s.record(ctx, t, Billing, "subscription_canceled", err, map[string]any{"subscriptionId": subID})
			if err != nil && !sdk.IsNotFound(err) {
				return "", err
			}
			ext[extSubStatus] = "canceled"
			if err == nil {
				ext[extSubStatus] = sub.Status
			}
			ext[extSubGeneration] = strconv.Itoa(gen + 1)
		}
		if t.Status == tenant.StatusDeleted {
			return "tenant deleted: subscription canceled", nil
		}
		if _, err := s.ensureCustomer(ctx, b, t, ext); err != nil {
			return "", err
		}
		return fmt.Sprintf("customer %s ready; nothing to bill (plan %s, %d seats)", ext[extCustomerID], t.Plan, t.Seats), nil
	}

	cust, err := s.ensureCustomer(ctx, b, t, ext)
	if err != nil {
		return "", err
	}
	priceID, err := s.providerPrice(ctx, b, t, local)
	if err != nil {
		return "", err
	}
	ext[extPriceID], ext[extProductKey] = priceID, ProductKey(t.Plan)
	quantity := int64(1)
	if local.PerSeat {
		quantity = int64(local.Seats)
	}

	sub, err := s.createSubscription(ctx, b, t, cust.ID, priceID, quantity, gen)
	if err != nil {
		return "", err
	}
	if sub.Status == "canceled" {
		// The subscription under this key ended earlier: start the next.
		gen++
		if sub, err = s.createSubscription(ctx, b, t, cust.ID, priceID, quantity, gen); err != nil {
			return "", err
		}
	}
	ext[extSubscriptionID], ext[extSubStatus], ext[extSubGeneration] = sub.ID, sub.Status, strconv.Itoa(gen)

	if sub.PriceID != "" && sub.PriceID != priceID {
		// Without proration: the new amount applies from the next cycle.
		moved, err := b.MoveSubscriptionPrice(ctx, sub.ID, priceID)
		s.record(ctx, t, Billing, "subscription_price_moved", err, map[string]any{"subscriptionId": sub.ID, "from": sub.PriceID, "to": priceID})
		if err != nil {
			return "", err
		}
		sub = moved
	}
	if sub.Quantity != quantity {
		upd, err := b.UpdateSubscriptionQuantity(ctx, sub.ID, quantity)
		s.record(ctx, t, Billing, "subscription_quantity_updated", err, map[string]any{"subscriptionId": sub.ID, "from": sub.Quantity, "to": quantity})
		if err != nil {
			return "", err
		}
		sub = upd
	}
	wantPaused := local.Status == tenantsubscription.StatusPaused
	if wantPaused && !sub.Paused {
		p, err := b.PauseSubscription(ctx, sub.ID)
		s.record(ctx, t, Billing, "subscription_paused", err, map[string]any{"subscriptionId": sub.ID})
		if err != nil {
			return "", err
		}
		sub = p
	} else if !wantPaused && sub.Paused {
		r, err := b.ResumeSubscription(ctx, sub.ID)
		s.record(ctx, t, Billing, "subscription_resumed", err, map[string]any{"subscriptionId": sub.ID})
		if err != nil {
			return "", err
		}
		sub = r
	}
	ext[extSubStatus] = sub.Status
	// The write-back is the job's own bookkeeping, past the viewer.
	if _, err := subscriptions.Update(rule.Bypass(ctx), s.cfg.Client, local, time.Now(), "provider", func(u *ent.TenantSubscriptionUpdateOne) {
		u.SetProviderCustomerID(cust.ID).SetProviderSubscriptionID(sub.ID).SetProviderPriceID(priceID)
		if !sub.CurrentPeriodEnd.IsZero() {
			u.SetCurrentPeriodEnd(sub.CurrentPeriodEnd.UTC())
		}
	}); err != nil {
		return "", err
	}
	// The message states what we bill (our row), not the provider's echo:
	// a stateless provider test server answers every call with the same
	// fixture (quantity 1), which says nothing about the subscription.
	state := "active"
	if local.Status == tenantsubscription.StatusPaused {
		state = "paused"
	}
	unit := "per subscription"
	if local.PerSeat {
		unit = "per seat"
	}
	return fmt.Sprintf("subscription %s %s: %d seats, %s %s per %s", sub.ID, state, local.Seats,
		money.Format(local.UnitAmount, local.Currency), unit, strings.ToLower(string(local.Interval))), nil
}

// providerPrice returns the provider price local is sold at: the one the
// catalog row recorded for local's currency when it was minted at local's
// amount, else one ensured now (provider prices are immutable; EnsurePrice
// returns the existing price for the same product, currency, amount and
// interval), which the catalog row records when the amount is still its
// current one.
func (s *Service) providerPrice(ctx context.Context, b sdk.Billing, t *ent.Tenant, local *ent.TenantSubscription) (string, error) {
	sys := viewer.SystemContext(ctx)
	var p *ent.Price
	if local.PriceID != nil {
		var err error
		if p, err = s.cfg.Client.Price.Get(sys, *local.PriceID); err != nil && !ent.IsNotFound(err) {
			return "", fmt.Errorf("provisioning: price of subscription %d: %w", local.ID, err)
		}
	}
	if p != nil {
		for _, pp := range p.ProviderPrices {
			if pp.Currency == local.Currency && pp.Amount == local.UnitAmount && pp.ProviderPriceID != "" {
				return pp.ProviderPriceID, nil
			}
		}
	}
	interval := sdk.IntervalMonth
	if local.Interval == tenantsubscription.IntervalYear {
		interval = sdk.IntervalYear
	}
	price, err := b.EnsurePrice(ctx, sdk.EnsurePriceRequest{
		ProductKey: ProductKey(t.Plan), ProductName: s.cfg.Catalog[t.Plan].Name,
		Currency: strings.ToLower(local.Currency), UnitAmount: local.UnitAmount, Interval: interval,
	})
	s.record(ctx, t, Billing, "price_ensured", err, map[string]any{"productKey": ProductKey(t.Plan), "priceId": price.ID,
		"unitAmount": local.UnitAmount, "currency": local.Currency, "interval": string(interval)})
	if err != nil {
		return "", err
	}
	if p != nil {
		if a, ok := subscriptions.AmountIn(p, local.Currency); ok && a == local.UnitAmount {
			if err := s.rememberProviderPrice(sys, p.ID, schematype.ProviderPrice{Currency: local.Currency, ProviderPriceID: price.ID, Amount: a}); err != nil {
				return "", err
			}
		}
	}
	return price.ID, nil
}

// rememberProviderPrice replaces the catalog row's provider price for
// pp's currency, re-reading the row in the transaction so that a
// concurrent edit of another currency is kept.
func (s *Service) rememberProviderPrice(ctx context.Context, priceID int, pp schematype.ProviderPrice) error {
	return db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		p, err := c.Price.Get(ctx, priceID)
		if err != nil {
			return fmt.Errorf("provisioning: price %d: %w", priceID, err)
		}
		if a, ok := subscriptions.AmountIn(p, pp.Currency); !ok || a != pp.Amount {
			return nil // edited meanwhile: the next edit's subscriptions mint their own
		}
		pps := make([]schematype.ProviderPrice, 0, len(p.ProviderPrices)+1)
		for _, x := range p.ProviderPrices {
			if x.Currency != pp.Currency {
				pps = append(pps, x)
			}
		}
		pps = append(pps, pp)
		if err := c.Price.UpdateOneID(priceID).SetProviderPrices(pps).Exec(ctx); err != nil {
			return fmt.Errorf("provisioning: record provider price of price %d: %w", priceID, err)
		}
		return nil
	})
}

// syncResult records the outcome of mirroring local on the row: the
// error message, or none.
func (s *Service) syncResult(ctx context.Context, local *ent.TenantSubscription, stepErr error) {
	msg := ""
	if stepErr != nil {
		msg = stepErr.Error()
		if len(msg) > 2048 {
			msg = msg[:2048]
		}
	}
	cur, err := subscriptions.Of(ctx, s.cfg.Client, local.TenantID)
	if err != nil || cur == nil || cur.SyncError == msg {
		return
	}
	sys := rule.Bypass(context.WithoutCancel(ctx))
	if _, err := subscriptions.Update(sys, s.cfg.Client, cur, time.Now(), "provider", func(u *ent.TenantSubscriptionUpdateOne) {
		u.SetSyncError(msg)
	}); err != nil {
		s.cfg.Log.ErrorContext(ctx, "provisioning: record billing sync result", "tenant", local.TenantID, "err", err)
	}
}

// ensureCustomer ensures the tenant's customer with its billing details
// (package billing keeps them): the company name (else the tenant's
// name), billing e-mail, country and VAT number, replacing what the
// customer had.
func (s *Service) ensureCustomer(ctx context.Context, b sdk.Billing, t *ent.Tenant, ext map[string]string) (sdk.Customer, error) {
	req := sdk.EnsureCustomerRequest{
		ExternalKey: CustomerKey(t.Slug), Name: t.Name, Metadata: map[string]string{"dezky_tenant": t.Slug}, ReplaceDetails: true,
	}
	acc, err := s.cfg.Client.BillingAccount.Query().Where(billingaccount.TenantID(t.ID)).Only(viewer.SystemContext(ctx))
	if err != nil && !ent.IsNotFound(err) {
		return sdk.Customer{}, fmt.Errorf("provisioning: billing details of %s: %w", t.Slug, err)
	}
	if acc != nil {
		if acc.CompanyName != "" {
			req.Name = acc.CompanyName
		}
		req.Email, req.Country, req.VATID = acc.BillingEmail, acc.Country, acc.VatID
	}
	cust, err := b.EnsureCustomer(ctx, req)
	s.record(ctx, t, Billing, "customer_ensured", err, map[string]any{"externalKey": CustomerKey(t.Slug), "customerId": cust.ID})
	if err != nil {
		return sdk.Customer{}, err
	}
	ext[extCustomerID] = cust.ID
	return cust, nil
}

func (s *Service) createSubscription(ctx context.Context, b sdk.Billing, t *ent.Tenant, customerID, priceID string, quantity int64, gen int) (sdk.Subscription, error) {
	key := SubscriptionKey(t.Slug, gen)
	sub, err := b.CreateSubscription(ctx, sdk.CreateSubscriptionRequest{
		ExternalKey: key, CustomerID: customerID, PriceID: priceID, Quantity: quantity, SendInvoice: true,
	})
	s.record(ctx, t, Billing, "subscription_created", err, map[string]any{"externalKey": key, "subscriptionId": sub.ID, "quantity": quantity})
	return sub, err
}
