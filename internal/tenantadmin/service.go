package tenantadmin

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/plugins/sdk"
)

// Providers are the capabilities the service calls; the plugin host
// implements them. A capability without a plugin fails with UNSUPPORTED.
type Providers interface {
	Identity() (sdk.Identity, error)
	Storage() (sdk.Storage, error)
}

// Config configures a Service.
type Config struct {
	Client  *ent.Client
	Tenancy *tenancy.Service
	// Provisioning knows the upstream ids of a tenant (identity group,
	// storage space).
	Provisioning *provisioning.Service
	// Providers may be nil: SSO apps and storage then answer UNAVAILABLE.
	Providers Providers
	// Catalog maps plans to their storage quota (default
	// provisioning.DefaultCatalog).
	Catalog map[tenant.Plan]provisioning.PlanSpec
	// StorageRefreshInterval is the period of the job reading every
	// tenant's storage usage (default StorageRefreshInterval).
	StorageRefreshInterval time.Duration
	Log                    *slog.Logger
}

// Service implements the tenant-admin operations.
type Service struct {
	cfg  Config
	jobs *jobs.Engine
}

// New returns a Service. Call RegisterJobs before the job engine starts.
func New(cfg Config) *Service {
	if cfg.Catalog == nil {
		cfg.Catalog = provisioning.DefaultCatalog
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.StorageRefreshInterval <= 0 {
		cfg.StorageRefreshInterval = StorageRefreshInterval
	}
	return &Service{cfg: cfg}
}

// tenantFor loads a tenant the viewer can see (NOT_FOUND otherwise) and
// requires that the viewer administers it (FORBIDDEN otherwise).
func (s *Service) tenantFor(ctx context.Context, slug string) (*ent.Tenant, error) {
	return s.cfg.Tenancy.AdministeredTenant(ctx, slug)
}

// requireAdmin answers FORBIDDEN unless the viewer administers t.
func requireAdmin(ctx context.Context, t *ent.Tenant) error { return tenancy.RequireAdmin(ctx, t) }

// client is the transaction's client when ctx carries one.
func (s *Service) client(ctx context.Context) *ent.Client { return db.Client(ctx, s.cfg.Client) }

// upstreamID returns one recorded upstream id of a tenant's integration
// ("" when it was never provisioned).
func (s *Service) upstreamID(ctx context.Context, t *ent.Tenant, i provisioning.Integration, key string) (string, error) {
	sts, err := s.cfg.Provisioning.Statuses(ctx, t)
	if err != nil {
		return "", err
	}
	i2 := slices.IndexFunc(sts, func(st *provisioning.IntegrationStatus) bool { return st.Integration == i })
	if i2 < 0 {
		return "", nil
	}
	return sts[i2].External[key], nil
}

// unavailable is the error of a capability without a working plugin.
func unavailable(what string, err error) error { return apperr.UpstreamUnavailable(what, err) }
