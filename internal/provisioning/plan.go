package provisioning

import (
	"context"
	"fmt"
	"strings"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/internal/money"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// PlanItem is what a reconcile would change for one integration.
type PlanItem struct {
	Integration Integration
	// Provider is the plugin serving the integration, "" when none.
	Provider   string
	Configured bool
	// Changes lists the upstream changes a reconcile would make; empty
	// when the integration is in sync.
	Changes []string
	// Message explains the assessment (for example an upstream error that
	// prevented a read).
	Message string
}

// Plan reports, per integration, what ReconcileTenant would change, using
// read-only provider calls and the recorded upstream IDs; it changes
// nothing. Operators, and partner staff for their partner's tenants.
func (s *Service) Plan(ctx context.Context, ts *tenancy.Service, slug string) ([]*PlanItem, error) {
	t, err := s.manageable(ctx, ts, slug)
	if err != nil {
		return nil, err
	}
	out := make([]*PlanItem, 0, len(Integrations))
	for _, i := range Integrations {
		item := &PlanItem{Integration: i, Provider: s.providerName(i), Configured: s.configured(i)}
		if !item.Configured {
			item.Message = "not configured: reconcile records SKIPPED"
			out = append(out, item)
			continue
		}
		ext, err := s.state(ctx, t, i)
		if err != nil {
			return nil, err
		}
		switch i {
		case Identity:
			s.planIdentity(t, ext, item)
		case Storage:
			s.planStorage(ctx, t, ext, item)
		case Billing:
			s.planBilling(ctx, t, ext, item)
		case Mail:
			s.planMail(ctx, t, item)
		}
		if len(item.Changes) == 0 && item.Message == "" {
			item.Message = "in sync"
		}
		out = append(out, item)
	}
	return out, nil
}

func (s *Service) planIdentity(t *ent.Tenant, ext map[string]string, item *PlanItem) {
	if t.Status == tenant.StatusDeleted {
		return
	}
	// The identity capability has no read-only group lookup: the recorded
	// ID of the last successful ensure is the evidence.
	if ext[extGroupID] == "" || ext[extGroupName] != GroupName(t.Slug) {
		item.Changes = append(item.Changes, "create group "+GroupName(t.Slug))
	}
}

func (s *Service) planStorage(ctx context.Context, t *ent.Tenant, ext map[string]string, item *PlanItem) {
	if t.Status == tenant.StatusDeleted {
		return
	}
	want := s.cfg.Catalog[t.Plan].QuotaBytes
	id := ext[extSpaceID]
	if id == "" {
		item.Changes = append(item.Changes, fmt.Sprintf("create space %s with quota %d bytes", t.Slug, want))
		return
	}
	st, err := s.cfg.Providers.Storage()
	if err != nil {
		item.Message = err.Error()
		return
	}
	u, err := st.GetUsage(ctx, id)
	switch {
	case sdk.IsNotFound(err):
		item.Changes = append(item.Changes, fmt.Sprintf("create space %s with quota %d bytes (space %s is gone)", t.Slug, want, id))
	case err != nil:
		item.Message = "cannot read space: " + err.Error()
	case u.Total != want:
		item.Changes = append(item.Changes, fmt.Sprintf("set quota of space %s from %d to %d bytes", id, u.Total, want))
	}
}

func (s *Service) planMail(ctx context.Context, t *ent.Tenant, item *PlanItem) {
	d := PrimaryDomain(t)
	if d == "" || t.Status == tenant.StatusDeleted {
		return
	}
	m, err := s.cfg.Providers.Mail()
	if err != nil {
		item.Message = err.Error()
		return
	}
	_, err = m.GetDomain(ctx, d)
	switch {
	case sdk.IsNotFound(err):
		item.Changes = append(item.Changes, "create domain "+d)
	case err != nil:
		item.Message = "cannot read domain: " + err.Error()
	}
}

func (s *Service) planBilling(ctx context.Context, t *ent.Tenant, ext map[string]string, item *PlanItem) {
	b, err := s.cfg.Providers.Billing()
	if err != nil {
		item.Message = err.Error()
		return
	}
	subID := ext[extSubscriptionID]
	live := subID != "" && ext[extSubStatus] != "canceled"
	var sub sdk.Subscription
	if live {
		sub, err = b.GetSubscription(ctx, subID)
		switch {
		case sdk.IsNotFound(err):
			live = false
		case err != nil:
			item.Message = "cannot read subscription: " + err.Error()
			return
		case sub.Status == "canceled":
			live = false
		}
	}
	local, err := subscriptions.Of(ctx, s.cfg.Client, t.ID)
	if err != nil {
		item.Message = "cannot read the tenant's subscription: " + err.Error()
		return
	}
	if local == nil || local.Status == tenantsubscription.StatusCanceled {
		if live {
			item.Changes = append(item.Changes, "cancel subscription "+subID)
		}
		if t.Status != tenant.StatusDeleted && ext[extCustomerID] == "" {
			item.Changes = append(item.Changes, "create customer "+CustomerKey(t.Slug))
		}
		return
	}
	quantity := int64(1)
	if local.PerSeat {
		quantity = int64(local.Seats)
	}
	if ext[extCustomerID] == "" {
		item.Changes = append(item.Changes, "create customer "+CustomerKey(t.Slug))
	}
	if !live {
		item.Changes = append(item.Changes, fmt.Sprintf("create subscription: quantity %d at %s per %s (%s)", quantity,
			money.Format(local.UnitAmount, local.Currency), strings.ToLower(string(local.Interval)), ProductKey(t.Plan)))
		return
	}
	if known := s.knownProviderPrice(ctx, local); known == "" || known != sub.PriceID {
		item.Changes = append(item.Changes, fmt.Sprintf("move subscription %s to the %s price of %s per %s (no proration)", sub.ID, ProductKey(t.Plan),
			money.Format(local.UnitAmount, local.Currency), strings.ToLower(string(local.Interval))))
	}
	if sub.Quantity != quantity {
		item.Changes = append(item.Changes, fmt.Sprintf("change subscription %s quantity from %d to %d", sub.ID, sub.Quantity, quantity))
	}
	if want := local.Status == tenantsubscription.StatusPaused; want && !sub.Paused {
		item.Changes = append(item.Changes, "pause subscription "+sub.ID)
	} else if !want && sub.Paused {
		item.Changes = append(item.Changes, "resume subscription "+sub.ID)
	}
}

// knownProviderPrice is the provider price the catalog row of local
// recorded for its currency and amount, "" when none is recorded yet (the
// next run mints it).
func (s *Service) knownProviderPrice(ctx context.Context, local *ent.TenantSubscription) string {
	if local.PriceID == nil {
		return ""
	}
	p, err := s.cfg.Client.Price.Get(viewer.SystemContext(ctx), *local.PriceID)
	if err != nil {
		return ""
	}
	for _, pp := range p.ProviderPrices {
		if pp.Currency == local.Currency && pp.Amount == local.UnitAmount {
			return pp.ProviderPriceID
		}
	}
	return ""
}
