package provisioning

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// Integration is one provisioned integration.
type Integration = provisioningstate.Integration

// The integrations, in the order they are reported.
const (
	Identity = provisioningstate.IntegrationIdentity
	Storage  = provisioningstate.IntegrationStorage
	Billing  = provisioningstate.IntegrationBilling
	Mail     = provisioningstate.IntegrationMail
)

// Integrations lists every integration in report order.
var Integrations = []Integration{Identity, Storage, Billing, Mail}

// Status is an integration's provisioning status.
type Status = provisioningstate.Status

// The statuses.
const (
	StatusPending = provisioningstate.StatusPending
	StatusOK      = provisioningstate.StatusOk
	StatusError   = provisioningstate.StatusError
	StatusSkipped = provisioningstate.StatusSkipped
)

// capabilityOf maps an integration to the plugin capability serving it.
func capabilityOf(i Integration) sdk.Capability {
	switch i {
	case Identity:
		return sdk.CapabilityIdentity
	case Storage:
		return sdk.CapabilityStorage
	case Billing:
		return sdk.CapabilityBilling
	default:
		return sdk.CapabilityMail
	}
}

// Providers is the set of capabilities provisioning calls; the plugin
// host implements it. A capability without a plugin fails with UNSUPPORTED.
type Providers interface {
	Identity() (sdk.Identity, error)
	Storage() (sdk.Storage, error)
	Billing() (sdk.Billing, error)
	Mail() (sdk.Mail, error)
}

// Config configures a Service.
type Config struct {
	Client *ent.Client
	// Jobs is the job engine provisioning jobs are inserted into, in the
	// transaction of the change that needs them, and worked by (required).
	// New registers the provisioning worker with it: create the Service
	// before the engine opens.
	Jobs *jobs.Engine
	// Providers may be nil: every integration is then SKIPPED.
	Providers Providers
	// Plugins names the plugin bound to each capability; the name is
	// recorded in the audit metadata of provider calls (optional).
	Plugins map[sdk.Capability]string
	// Catalog maps plans to what they provision (default DefaultCatalog).
	Catalog map[tenant.Plan]PlanSpec
	Log     *slog.Logger
	// StepTimeout bounds one run of a step (default 2m); a step running
	// longer is cancelled and retried like a failure. It must stay below
	// the engine's RescueAfter.
	StepTimeout time.Duration
	// Backoff paces the retries of a failed job: Initial, doubled per
	// attempt, capped at Max (defaults 2s and 5m).
	Backoff Backoff
	// MaxAttempts gives a job up after that many failed runs (default 20).
	MaxAttempts int
}

// Backoff paces the retries of a failed job: Initial, doubled per failed
// attempt, capped at Max.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay is the wait after attempts failed runs (at least one).
func (b Backoff) Delay(attempts int) time.Duration {
	d := b.Initial
	for i := 1; i < attempts && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Service is the provisioning domain service and its job worker.
type Service struct {
	cfg Config
	// plugins names the plugin bound to each integration's capability.
	plugins map[Integration]string
}

var _ tenancy.Lifecycle = (*Service)(nil)

// New returns a Service and registers its job worker with cfg.Jobs; the
// engine works provisioning jobs once started.
func New(cfg Config) *Service {
	if cfg.Catalog == nil {
		cfg.Catalog = DefaultCatalog
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 2 * time.Minute
	}
	if cfg.Backoff.Initial <= 0 {
		cfg.Backoff.Initial = 2 * time.Second
	}
	if cfg.Backoff.Max < cfg.Backoff.Initial {
		cfg.Backoff.Max = max(5*time.Minute, cfg.Backoff.Initial)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 20
	}
	s := &Service{cfg: cfg, plugins: pluginNames(cfg.Plugins)}
	s.register(cfg.Jobs)
	return s
}

// integrationsFor maps tenant changes to the integrations they affect.
func integrationsFor(changes []tenancy.Change) []Integration {
	set := map[Integration]bool{}
	for _, c := range changes {
		switch c {
		case tenancy.ChangeCreated:
			for _, i := range Integrations {
				set[i] = true
			}
		case tenancy.ChangeName:
			set[Identity], set[Storage], set[Billing] = true, true, true
		case tenancy.ChangePlan:
			set[Storage], set[Billing] = true, true
		case tenancy.ChangeSeats, tenancy.ChangeStatus:
			set[Billing] = true
		case tenancy.ChangeDomains:
			set[Mail] = true
		}
	}
	var out []Integration
	for _, i := range Integrations {
		if set[i] {
			out = append(out, i)
		}
	}
	return out
}

// TenantChanged implements tenancy.Lifecycle: it enqueues the affected
// integrations' jobs in the change's transaction.
func (s *Service) TenantChanged(ctx context.Context, t *ent.Tenant, changes ...tenancy.Change) error {
	integrations := integrationsFor(changes)
	if slices.Contains(integrations, Billing) {
		// What the tenant pays is ours to decide, in the change's
		// transaction; the billing job then mirrors it to the provider.
		if _, err := subscriptions.Sync(ctx, s.cfg.Client, t, time.Now(), "tenant "+joinChanges(changes)); err != nil {
			return fmt.Errorf("provisioning: %w", err)
		}
	}
	return s.enqueue(ctx, t, "tenant "+joinChanges(changes), integrations...)
}

// EnqueueBilling queues the tenant's billing job in ctx's transaction (one
// is opened when there is none): the job mirrors the tenant's
// subscription row to the provider. The pricing catalog calls it for the
// subscriptions a price edit repriced.
func (s *Service) EnqueueBilling(ctx context.Context, t *ent.Tenant, reason string) error {
	return s.enqueue(ctx, t, reason, Billing)
}

func joinChanges(cs []tenancy.Change) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = string(c)
	}
	return strings.Join(names, ",")
}

// enqueue marks the integrations PENDING and queues one river job per
// integration (in one insert statement), in ctx's transaction (one is
// opened when there is none): the change and its jobs commit or roll back
// together. A job of the integration's current generation that has not
// started yet is reused (river's unique jobs); it reads the tenant when it
// runs. A change to an integration whose job waits for a retry queues the
// next generation's job, due at once.
func (s *Service) enqueue(ctx context.Context, t *ent.Tenant, reason string, integrations ...Integration) error {
	if len(integrations) == 0 {
		return nil
	}
	// States are system-owned rows; the change that needs them is the
	// caller's, who stays the actor of the transaction.
	sys := rule.Bypass(ctx)
	return db.WithTx(sys, s.cfg.Client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		batch := make([]river.InsertManyParams, 0, len(integrations))
		for _, i := range integrations {
			// The upsert also locks the state row until the change commits,
			// so a job cannot start (and move the generation on) between
			// reading the generation and committing the job.
			if err := c.ProvisioningState.Create().SetTenantID(t.ID).SetIntegration(i).
				SetStatus(StatusPending).SetMessage("queued: "+reason).
				OnConflictColumns(provisioningstate.FieldTenantID, provisioningstate.FieldIntegration).
				Update(func(u *ent.ProvisioningStateUpsert) {
					u.SetStatus(StatusPending).SetMessage("queued: " + reason).UpdateUpdatedAt()
				}).Exec(ctx); err != nil {
				return fmt.Errorf("provisioning: mark %s pending: %w", i, err)
			}
			st, err := c.ProvisioningState.Query().
				Where(provisioningstate.TenantID(t.ID), provisioningstate.IntegrationEQ(i)).Only(ctx)
			if err != nil {
				return fmt.Errorf("provisioning: load %s state: %w", i, err)
			}
			batch = append(batch, river.InsertManyParams{
				Args:       jobArgs{TenantID: t.ID, Integration: i, Generation: st.Generation, Reason: reason},
				InsertOpts: &river.InsertOpts{MaxAttempts: s.cfg.MaxAttempts, UniqueOpts: jobUniqueness},
			})
		}
		if err := s.cfg.Jobs.InsertManyTx(ctx, batch); err != nil {
			return fmt.Errorf("provisioning: queue jobs: %w", err)
		}
		return nil
	})
}

// ReconcileTenant re-drives every integration of a tenant: it enqueues all
// steps (in ctx's transaction) and records the request in the audit
// trail. Operators, and partner staff for their partner's tenants.
func (s *Service) ReconcileTenant(ctx context.Context, ts *tenancy.Service, slug string) (*ent.Tenant, error) {
	var out *ent.Tenant
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		t, err := s.manageable(ctx, ts, slug)
		if err != nil {
			return err
		}
		out = t
		if err := s.enqueue(ctx, t, "reconcile requested", Integrations...); err != nil {
			return err
		}
		return audit.Record(ctx, audit.Event{
			Action: "tenant.reconcile_requested", ResourceType: "tenant", ResourceID: strconv.Itoa(t.ID),
			ResourceName: t.Slug, Tenant: t,
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReconcileAll enqueues every integration of every tenant that is not
// deleted, as the system (for example after the embedded demo started with
// fresh in-memory upstreams). It returns how many tenants were queued.
func (s *Service) ReconcileAll(ctx context.Context, reason string) (int, error) {
	sys := viewer.SystemContext(ctx)
	ts, err := s.cfg.Client.Tenant.Query().Where(tenant.StatusNEQ(tenant.StatusDeleted)).All(sys)
	if err != nil {
		return 0, fmt.Errorf("provisioning: list tenants: %w", err)
	}
	for _, t := range ts {
		if err := s.enqueue(sys, t, reason, Integrations...); err != nil {
			return 0, err
		}
	}
	return len(ts), nil
}

// manageable returns the tenant when the viewer may reconcile or plan it.
func (s *Service) manageable(ctx context.Context, ts *tenancy.Service, slug string) (*ent.Tenant, error) {
	t, err := ts.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	v := viewer.FromContext(ctx)
	if v.Privileged() || (v != nil && v.PartnerID != 0 && t.PartnerID != nil && *t.PartnerID == v.PartnerID) {
		return t, nil
	}
	return nil, apperr.Forbiddenf("only operators and the tenant's partner may manage its provisioning")
}

// IntegrationStatus is the reported status of one integration.
type IntegrationStatus struct {
	Integration Integration
	Status      Status
	Message     string
	UpdatedAt   time.Time
	// External holds the upstream IDs the step produced.
	External map[string]string
}

// Statuses reports every integration of a tenant the viewer can see
// (callers pass a tenant they loaded through the viewer's privacy).
func (s *Service) Statuses(ctx context.Context, t *ent.Tenant) ([]*IntegrationStatus, error) {
	rows, err := db.Client(ctx, s.cfg.Client).ProvisioningState.Query().
		// States are system-owned; the caller already saw the tenant.
		Where(provisioningstate.TenantID(t.ID)).All(rule.Bypass(ctx))
	if err != nil {
		return nil, fmt.Errorf("provisioning: statuses of %s: %w", t.Slug, err)
	}
	return s.assemble(t, rows), nil
}

// configured reports whether a plugin serves the integration.
func (s *Service) configured(i Integration) bool {
	if s.cfg.Providers == nil {
		return false
	}
	var err error
	switch i {
	case Identity:
		_, err = s.cfg.Providers.Identity()
	case Storage:
		_, err = s.cfg.Providers.Storage()
	case Billing:
		_, err = s.cfg.Providers.Billing()
	default:
		_, err = s.cfg.Providers.Mail()
	}
	return err == nil
}

// pluginNames maps each integration to the plugin bound to its capability.
func pluginNames(byCapability map[sdk.Capability]string) map[Integration]string {
	out := map[Integration]string{}
	for _, i := range Integrations {
		if name := byCapability[capabilityOf(i)]; name != "" {
			out[i] = name
		}
	}
	return out
}

// providerName names the plugin serving an integration ("" when none).
func (s *Service) providerName(i Integration) string { return s.plugins[i] }

// record writes the audit event of one provider call, in its own
// transaction, as the system viewer, scoped to the tenant.
func (s *Service) record(ctx context.Context, t *ent.Tenant, i Integration, what string, callErr error, meta map[string]any) {
	ev := audit.Event{
		Action:       "provider." + strings.ToLower(string(i)) + "." + what,
		ResourceType: "tenant", ResourceID: strconv.Itoa(t.ID), ResourceName: t.Slug,
		Tenant: t, Metadata: map[string]any{},
	}
	maps.Copy(ev.Metadata, meta)
	if p := s.providerName(i); p != "" {
		ev.Metadata["plugin"] = p
	}
	if callErr != nil {
		ev.Outcome = auditevent.OutcomeFailure
		ev.Metadata["error"] = callErr.Error()
		ev.Metadata["code"] = string(sdk.ErrorCode(callErr))
	}
	sys := viewer.SystemContext(context.WithoutCancel(ctx))
	if err := db.WithTx(sys, s.cfg.Client, func(ctx context.Context) error { return audit.Record(ctx, ev) }); err != nil {
		s.cfg.Log.ErrorContext(ctx, "provisioning: audit provider call", "action", ev.Action, "tenant", t.Slug, "err", err)
	}
}

// errSkipped marks a step whose capability has no plugin.
var errSkipped = errors.New("not configured")
