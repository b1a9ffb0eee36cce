package billing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/billingaccount"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/plugins/sdk"
)

// Defaults of Config.
const (
	DefaultInvoiceRefreshInterval = 6 * time.Hour
	DefaultEventRetention         = 30 * 24 * time.Hour
	DefaultMaxWebhookBody         = 256 << 10
)

// Providers is the billing capability; the plugin host implements it. A
// missing plugin fails with UNSUPPORTED.
type Providers interface {
	Billing() (sdk.Billing, error)
}

// Config configures a Service.
type Config struct {
	Client  *ent.Client
	Tenancy *tenancy.Service
	// Provisioning queues the tenant's billing job, which mirrors the
	// billing details to the provider's customer.
	Provisioning *provisioning.Service
	// Providers may be nil: provider calls then answer UNAVAILABLE and the
	// webhook 503.
	Providers Providers
	// InvoiceRefreshInterval is the period of the job reading every
	// billed tenant's invoices (default DefaultInvoiceRefreshInterval).
	InvoiceRefreshInterval time.Duration
	// EventRetention is how long applied webhook event ids are kept for
	// deduplication (default DefaultEventRetention; the provider retries a
	// delivery for at most three days).
	EventRetention time.Duration
	// MaxWebhookBody bounds a webhook body (default DefaultMaxWebhookBody).
	MaxWebhookBody int64
	Log            *slog.Logger
}

// Service implements the customer billing operations and the webhook.
type Service struct {
	cfg Config
}

// New returns a Service. Call RegisterJobs before the job engine starts.
func New(cfg Config) *Service {
	if cfg.InvoiceRefreshInterval <= 0 {
		cfg.InvoiceRefreshInterval = DefaultInvoiceRefreshInterval
	}
	if cfg.EventRetention <= 0 {
		cfg.EventRetention = DefaultEventRetention
	}
	if cfg.MaxWebhookBody <= 0 {
		cfg.MaxWebhookBody = DefaultMaxWebhookBody
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{cfg: cfg}
}

// client is the transaction's client when ctx carries one.
func (s *Service) client(ctx context.Context) *ent.Client { return db.Client(ctx, s.cfg.Client) }

// provider returns the billing plugin or UNAVAILABLE.
func (s *Service) provider() (sdk.Billing, error) {
	if s.cfg.Providers == nil {
		return nil, apperr.UpstreamUnavailable("billing", sdk.Unsupported("no providers"))
	}
	b, err := s.cfg.Providers.Billing()
	if err != nil {
		return nil, apperr.UpstreamUnavailable("billing", err)
	}
	return b, nil
}

// account returns t's billing account row as the viewer sees it, nil when
// it has none (or the viewer may not see it).
func (s *Service) account(ctx context.Context, tenantID int) (*ent.BillingAccount, error) {
	a, err := s.client(ctx).BillingAccount.Query().Where(billingaccount.TenantID(tenantID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("billing: account of tenant %d: %w", tenantID, err)
	}
	return a, nil
}

// customerID returns t's customer id at the billing provider: the one its
// subscription was mirrored with, else the one its billing job recorded;
// "" when the customer was never created.
func (s *Service) customerID(ctx context.Context, t *ent.Tenant) (string, error) {
	sub, err := subscriptions.Of(ctx, s.cfg.Client, t.ID)
	if err != nil {
		return "", err
	}
	if sub != nil && sub.ProviderCustomerID != "" {
		return sub.ProviderCustomerID, nil
	}
	if s.cfg.Provisioning == nil {
		return "", nil
	}
	sts, err := s.cfg.Provisioning.Statuses(ctx, t)
	if err != nil {
		return "", err
	}
	for _, st := range sts {
		if st.Integration == provisioning.Billing {
			return st.External[provisioning.ExternalCustomerID], nil
		}
	}
	return "", nil
}

// requireCustomer is customerID, failing with CONFLICT when the tenant has
// no customer at the provider yet.
func (s *Service) requireCustomer(ctx context.Context, t *ent.Tenant) (string, error) {
	id, err := s.customerID(ctx, t)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", apperr.Conflictf("the billing customer of tenant %q is not provisioned yet; reconcile the tenant first", t.Slug)
	}
	return id, nil
}
