package tenantadmin

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/tenantstorage"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// StorageRefreshInterval is how often, by default, every tenant's storage
// usage is read from the storage provider.
const StorageRefreshInterval = 15 * time.Minute

// TenantStorage is a tenant's storage usage.
type TenantStorage struct {
	QuotaBytes int64
	UsedBytes  int64
	UpdatedAt  time.Time
}

// Storage returns t's last read usage, nil before the first read.
func (s *Service) Storage(ctx context.Context, t *ent.Tenant) (*TenantStorage, error) {
	if err := requireAdmin(ctx, t); err != nil {
		return nil, err
	}
	row, err := s.client(ctx).TenantStorage.Query().Where(tenantstorage.TenantID(t.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tenantadmin: storage of %s: %w", t.Slug, err)
	}
	return &TenantStorage{QuotaBytes: row.QuotaBytes, UsedBytes: row.UsedBytes, UpdatedAt: row.UpdatedAt}, nil
}

// RefreshStorage reads the tenant's usage from the storage provider now,
// stores it and records the refresh in the audit trail.
func (s *Service) RefreshStorage(ctx context.Context, slug string) (*TenantStorage, error) {
	var out *TenantStorage
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		t, err := s.tenantFor(ctx, slug)
		if err != nil {
			return err
		}
		st, err := s.storageProvider()
		if err != nil {
			return err
		}
		if out, err = s.refresh(ctx, st, t, false); err != nil {
			return err
		}
		return audit.Record(ctx, audit.Event{
			Action: "tenant.storage_refreshed", ResourceType: "storage", ResourceID: t.Slug, ResourceName: t.Slug, Tenant: t,
			Metadata: map[string]any{"quotaBytes": out.QuotaBytes, "usedBytes": out.UsedBytes},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "storage")
	}
	return out, nil
}

// refresh reads t's usage and upserts it in ctx's transaction. With
// fixQuota, a space whose quota differs from the plan's is set to the
// plan's quota first (SetQuota).
func (s *Service) refresh(ctx context.Context, st sdk.Storage, t *ent.Tenant, fixQuota bool) (*TenantStorage, error) {
	space, err := s.upstreamID(ctx, t, provisioning.Storage, provisioning.ExternalSpaceID)
	if err != nil {
		return nil, err
	}
	if space == "" {
		return nil, apperr.Conflictf("the storage space of tenant %q is not provisioned yet", t.Slug)
	}
	u, err := st.GetUsage(ctx, space)
	if err != nil {
		return nil, upstreamError("storage", err)
	}
	if want := s.cfg.Catalog[t.Plan].QuotaBytes; fixQuota && t.Status != tenant.StatusDeleted && u.Total != want {
		if err := st.SetQuota(ctx, space, want); err != nil {
			return nil, upstreamError("storage", err)
		}
		if u, err = st.GetUsage(ctx, space); err != nil {
			return nil, upstreamError("storage", err)
		}
	}
	out := &TenantStorage{QuotaBytes: u.Total, UsedBytes: u.Used, UpdatedAt: time.Now().UTC()}
	err = s.client(ctx).TenantStorage.Create().SetTenantID(t.ID).SetQuotaBytes(out.QuotaBytes).
		SetUsedBytes(out.UsedBytes).SetUpdatedAt(out.UpdatedAt).
		OnConflictColumns(tenantstorage.FieldTenantID).
		Update(func(u *ent.TenantStorageUpsert) {
			u.SetQuotaBytes(out.QuotaBytes).SetUsedBytes(out.UsedBytes).SetUpdatedAt(out.UpdatedAt)
		}).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenantadmin: store usage of %s: %w", t.Slug, err)
	}
	return out, nil
}

// storageProvider returns the storage plugin or UNAVAILABLE.
func (s *Service) storageProvider() (sdk.Storage, error) {
	if s.cfg.Providers == nil {
		return nil, unavailable("storage", sdk.Errorf(sdk.CodeUnsupported, "no providers"))
	}
	st, err := s.cfg.Providers.Storage()
	if err != nil {
		return nil, unavailable("storage", err)
	}
	return st, nil
}

// refreshStorageArgs is the job reading one tenant's usage (TenantID set)
// or every tenant's (TenantID 0, the periodic job). PlanChanged asks to
// bring the space's quota to the plan's first.
type refreshStorageArgs struct {
	TenantID    int  `json:"tenant_id,omitempty"`
	PlanChanged bool `json:"plan_changed,omitempty"`
}

// Kind names the job kind.
func (refreshStorageArgs) Kind() string { return "refresh_tenant_storage" }

type refreshStorageWorker struct {
	river.WorkerDefaults[refreshStorageArgs]
	s *Service
}

// Work refreshes one tenant, or every tenant with a storage space.
func (w *refreshStorageWorker) Work(ctx context.Context, j *river.Job[refreshStorageArgs]) error {
	ctx = viewer.SystemContext(ctx)
	st, err := w.s.storageProvider()
	if err != nil {
		return nil // nothing to read without a storage plugin
	}
	q := w.s.cfg.Client.Tenant.Query().Where(tenant.StatusNEQ(tenant.StatusDeleted))
	if j.Args.TenantID != 0 {
		q = w.s.cfg.Client.Tenant.Query().Where(tenant.ID(j.Args.TenantID))
	}
	ts, err := q.All(ctx)
	if err != nil {
		return fmt.Errorf("refresh storage: tenants: %w", err)
	}
	var failed int
	for _, t := range ts {
		err := db.WithTx(ctx, w.s.cfg.Client, func(ctx context.Context) error {
			_, err := w.s.refresh(ctx, st, t, j.Args.PlanChanged)
			return err
		})
		if apperr.CodeOf(err) == apperr.Conflict {
			continue // not provisioned yet: the next run reads it
		}
		if err != nil {
			failed++
			w.s.cfg.Log.WarnContext(ctx, "refresh storage usage", "tenant", t.Slug, "err", err)
		}
	}
	if failed > 0 && j.Args.TenantID != 0 {
		return fmt.Errorf("refresh storage of tenant %d failed", j.Args.TenantID)
	}
	return nil
}

// RegisterJobs registers the storage refresh worker and its periodic run
// with the engine (before it starts) and keeps the engine for enqueueing.
func (s *Service) RegisterJobs(e *jobs.Engine) {
	s.jobs = e
	jobs.AddWorker(e, &refreshStorageWorker{s: s})
	e.AddPeriodic(s.cfg.StorageRefreshInterval, refreshStorageArgs{}, true)
}

var _ tenancy.Lifecycle = (*Service)(nil)

// TenantChanged implements tenancy.Lifecycle: a plan change enqueues, in
// the change's transaction, a job that brings the space's quota to the new
// plan's (SetQuota) and reads the usage.
func (s *Service) TenantChanged(ctx context.Context, t *ent.Tenant, changes ...tenancy.Change) error {
	if s.jobs == nil {
		return nil
	}
	for _, c := range changes {
		if c == tenancy.ChangePlan {
			return s.jobs.InsertTx(ctx, refreshStorageArgs{TenantID: t.ID, PlanChanged: true}, nil)
		}
	}
	return nil
}
