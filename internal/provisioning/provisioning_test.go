package provisioning_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/authentik/authentiksim"
	"github.com/dezky/platform/providers/ocis/ocissim"
)

func TestMain(m *testing.M) {
	code := testdb.Main(m)
	if pluginDir != "" {
		_ = os.RemoveAll(pluginDir)
	}
	os.Exit(code)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Provider binaries are built once per test binary.
var (
	buildOnce sync.Once
	pluginDir string
)

func plugins(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dezky-provisioning-plugins")
		if err != nil {
			t.Fatal(err)
		}
		conformance.BuildProvider(t, "github.com/dezky/platform/plugins/internal/testprovider/cmd/dezky-provider-test", "test", dir)
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/authentik", "authentik", dir)
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/ocis", "ocis", dir)
		pluginDir = dir
	})
	if pluginDir == "" {
		t.Fatal("provider binaries did not build")
	}
	return pluginDir
}

func startHost(t *testing.T, bindings map[sdk.Capability]host.Binding) *host.Host {
	t.Helper()
	h, err := host.New(host.Config{
		Dir: plugins(t), Capabilities: bindings, Logger: quiet,
		Backoff: host.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Breaker: host.BreakerConfig{Failures: 1000},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

// inMemory binds every integration to the reference in-memory provider.
func inMemory(t *testing.T) *host.Host {
	b := host.Binding{Plugin: "test"}
	return startHost(t, map[sdk.Capability]host.Binding{
		sdk.CapabilityIdentity: b, sdk.CapabilityStorage: b, sdk.CapabilityBilling: b, sdk.CapabilityMail: b,
	})
}

type fixture struct {
	d       *db.DB
	tenants *tenancy.Service
	prov    *provisioning.Service
}

func newFixture(t *testing.T, d *db.DB, p provisioning.Providers) *fixture {
	t.Helper()
	f := &fixture{d: d, tenants: tenancy.New(d.Client)}
	f.prov = f.service(p)
	f.tenants.SetLifecycle(f.prov)
	return f
}

func (f *fixture) service(p provisioning.Providers) *provisioning.Service {
	return provisioning.New(provisioning.Config{
		Client: f.d.Client, Dialect: f.d.Dialect, Providers: p, Log: quiet,
		Backoff: provisioning.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	})
}

var sys = viewer.SystemContext(context.Background())

// drain runs due jobs until the tenant has none queued.
func drain(t *testing.T, s *provisioning.Service, tenantID int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(sys, 2*time.Minute)
	defer cancel()
	for {
		n, err := s.Pending(ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			t.Logf("run: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("jobs of tenant %d did not finish", tenantID)
		}
	}
}

func statuses(t *testing.T, f *fixture, slug string) map[provisioning.Integration]*provisioning.IntegrationStatus {
	t.Helper()
	tn, err := f.tenants.TenantBySlug(sys, slug)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.prov.Statuses(sys, tn)
	if err != nil {
		t.Fatal(err)
	}
	out := map[provisioning.Integration]*provisioning.IntegrationStatus{}
	for _, s := range st {
		out[s.Integration] = s
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func createTenant(t *testing.T, f *fixture, slug string, plan tenant.Plan, seats int, domains ...string) *ent.Tenant {
	t.Helper()
	tn, err := f.tenants.CreateTenant(sys, tenancy.CreateTenantInput{Slug: slug, Name: "Tenant " + slug, Plan: &plan, Seats: &seats, Domains: domains})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func auditCount(t *testing.T, f *fixture, slug, action string, outcome auditevent.Outcome) int {
	t.Helper()
	n, err := f.d.Client.AuditEvent.Query().
		Where(auditevent.TenantSlug(slug), auditevent.Action(action), auditevent.OutcomeEQ(outcome)).Count(sys)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func planChanges(t *testing.T, f *fixture, slug string) map[provisioning.Integration][]string {
	t.Helper()
	items, err := f.prov.Plan(sys, f.tenants, slug)
	if err != nil {
		t.Fatal(err)
	}
	out := map[provisioning.Integration][]string{}
	for _, it := range items {
		out[it.Integration] = it.Changes
	}
	return out
}

// TestProvisioningLifecycle creates a tenant, provisions every integration,
// and follows seat, suspend, resume and delete changes to the billing
// subscription; the plan reports drift without changing anything.
func TestProvisioningLifecycle(t *testing.T) {
	h := inMemory(t)
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, h)
		tn := createTenant(t, f, "lifecycle-"+d.Dialect, tenant.PlanBusiness, 5, "lifecycle-"+d.Dialect+".example")
		for i, s := range statuses(t, f, tn.Slug) {
			if s.Status != provisioning.StatusPending {
				t.Fatalf("%s right after create: %s, want PENDING", i, s.Status)
			}
		}
		drain(t, f.prov, tn.ID)
		st := statuses(t, f, tn.Slug)
		for _, i := range provisioning.Integrations {
			if st[i].Status != provisioning.StatusOK {
				t.Fatalf("%s: %s %q, want OK", i, st[i].Status, st[i].Message)
			}
		}
		subID := st[provisioning.Billing].External["subscription_id"]
		if subID == "" || st[provisioning.Identity].External["group_id"] == "" || st[provisioning.Storage].External["space_id"] == "" {
			t.Fatalf("external ids not recorded: %+v", st)
		}
		if got := st[provisioning.Storage].External["quota_bytes"]; got != "1099511627776" {
			t.Fatalf("space quota %s, want the BUSINESS plan's 1 TiB", got)
		}
		billing, _ := h.Billing()
		sub := func() sdk.Subscription {
			s, err := billing.GetSubscription(context.Background(), subID)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if s := sub(); s.Quantity != 5 || s.Paused {
			t.Fatalf("subscription after create: %+v", s)
		}
		for _, a := range []string{"provider.identity.group_ensured", "provider.storage.space_ensured", "provider.billing.customer_ensured",
			"provider.billing.subscription_created", "provider.mail.domain_ensured"} {
			if auditCount(t, f, tn.Slug, a, auditevent.OutcomeSuccess) != 1 {
				t.Fatalf("want one SUCCESS audit event %s", a)
			}
		}
		for i, ch := range planChanges(t, f, tn.Slug) {
			if len(ch) != 0 {
				t.Fatalf("plan of a provisioned tenant: %s would change %v", i, ch)
			}
		}

		if _, err := f.tenants.UpdateTenant(sys, tn.Slug, tenancy.UpdateTenantInput{Seats: ptr(8)}); err != nil {
			t.Fatal(err)
		}
		if st := statuses(t, f, tn.Slug); st[provisioning.Billing].Status != provisioning.StatusPending || st[provisioning.Identity].Status != provisioning.StatusOK {
			t.Fatalf("seat change must queue billing only: %+v %+v", st[provisioning.Billing], st[provisioning.Identity])
		}
		if ch := planChanges(t, f, tn.Slug)[provisioning.Billing]; len(ch) != 1 || !strings.Contains(ch[0], "quantity from 5 to 8") {
			t.Fatalf("plan after a seat change: %v", ch)
		}
		if s := sub(); s.Quantity != 5 {
			t.Fatalf("plan changed the subscription: %+v", s)
		}
		drain(t, f.prov, tn.ID)
		if s := sub(); s.Quantity != 8 {
			t.Fatalf("subscription quantity %d, want 8", s.Quantity)
		}
		if auditCount(t, f, tn.Slug, "provider.billing.subscription_quantity_updated", auditevent.OutcomeSuccess) != 1 {
			t.Fatal("quantity change not audited")
		}

		if _, err := f.tenants.SuspendTenant(sys, tn.Slug); err != nil {
			t.Fatal(err)
		}
		drain(t, f.prov, tn.ID)
		if s := sub(); !s.Paused {
			t.Fatalf("suspended tenant's subscription not paused: %+v", s)
		}
		if _, err := f.tenants.ResumeTenant(sys, tn.Slug); err != nil {
			t.Fatal(err)
		}
		drain(t, f.prov, tn.ID)
		if s := sub(); s.Paused {
			t.Fatalf("resumed tenant's subscription still paused: %+v", s)
		}
		if _, err := f.tenants.DeleteTenant(sys, tn.Slug); err != nil {
			t.Fatal(err)
		}
		drain(t, f.prov, tn.ID)
		if s := sub(); s.Status != "canceled" {
			t.Fatalf("deleted tenant's subscription: %+v, want canceled", s)
		}
		if st := statuses(t, f, tn.Slug)[provisioning.Billing]; st.Status != provisioning.StatusOK {
			t.Fatalf("billing after delete: %+v", st)
		}
		// Reconciling a converged tenant changes nothing upstream.
		before := auditCount(t, f, tn.Slug, "provider.billing.subscription_canceled", auditevent.OutcomeSuccess)
		if _, err := f.prov.ReconcileTenant(sys, f.tenants, tn.Slug); err != nil {
			t.Fatal(err)
		}
		drain(t, f.prov, tn.ID)
		if after := auditCount(t, f, tn.Slug, "provider.billing.subscription_canceled", auditevent.OutcomeSuccess); after != before {
			t.Fatalf("reconcile of a deleted tenant canceled again (%d → %d)", before, after)
		}
	})
}

// TestFreePlanHasNoSubscription: unpriced plans and zero seats get a
// customer but no subscription.
func TestFreePlanHasNoSubscription(t *testing.T) {
	h := inMemory(t)
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, h)
		free := createTenant(t, f, "free-"+d.Dialect, tenant.PlanFree, 3)
		zero := createTenant(t, f, "zero-"+d.Dialect, tenant.PlanStarter, 0)
		for _, tn := range []*ent.Tenant{free, zero} {
			drain(t, f.prov, tn.ID)
			st := statuses(t, f, tn.Slug)[provisioning.Billing]
			if st.Status != provisioning.StatusOK || st.External["customer_id"] == "" || st.External["subscription_id"] != "" {
				t.Fatalf("%s billing: %+v", tn.Slug, st)
			}
			if m := statuses(t, f, tn.Slug)[provisioning.Mail]; m.Status != provisioning.StatusOK || m.External["domain"] != "" {
				t.Fatalf("%s without a domain: mail %+v", tn.Slug, m)
			}
		}
	})
}

// TestSkippedWithoutPlugins: with no plugin configured every integration
// is SKIPPED, and the jobs finish.
func TestSkippedWithoutPlugins(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, nil)
		tn := createTenant(t, f, "skipped", tenant.PlanStarter, 2, "skipped.example")
		drain(t, f.prov, tn.ID)
		for i, s := range statuses(t, f, tn.Slug) {
			if s.Status != provisioning.StatusSkipped {
				t.Fatalf("%s: %s, want SKIPPED", i, s.Status)
			}
		}
		items, err := f.prov.Plan(sys, f.tenants, tn.Slug)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Configured || len(it.Changes) != 0 {
				t.Fatalf("plan without plugins: %+v", it)
			}
		}
	})
}

// TestJobsSurviveRestartAndRunOnce: jobs committed with the tenant run
// after the process that enqueued them is gone, and two workers sharing
// the queue run every job exactly once.
func TestJobsSurviveRestartAndRunOnce(t *testing.T) {
	h := inMemory(t)
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, h)
		var ids []int
		for _, slug := range []string{"one", "two", "three", "four"} {
			ids = append(ids, createTenant(t, f, slug+"-"+d.Dialect, tenant.PlanStarter, 1).ID)
		}
		// "Restart": the enqueuing service is dropped without running a
		// job; two fresh workers (two replicas) share the queue.
		workers := []*provisioning.Service{f.service(h), f.service(h)}
		ctx, cancel := context.WithTimeout(sys, 2*time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					ran, err := w.RunOnce(ctx)
					if err == nil && !ran {
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			drain(t, f.prov, id)
		}
		for _, slug := range []string{"one", "two", "three", "four"} {
			slug += "-" + d.Dialect
			for _, a := range []string{"provider.identity.group_ensured", "provider.storage.space_ensured", "provider.billing.subscription_created"} {
				if n := auditCount(t, f, slug, a, auditevent.OutcomeSuccess); n != 1 {
					t.Fatalf("%s: %d × %s, want exactly one run per job", slug, n, a)
				}
			}
		}
	})
}

// trap lets one matching request reach the upstream (which creates the
// object) and then never answers it, so the test can kill the plugin while
// the call is in flight: the worst case, an upstream object whose ID the
// platform never received.
type trap struct {
	next    http.Handler
	method  string
	suffix  string
	armed   atomic.Bool
	hit     chan struct{}
	creates atomic.Int32
}

func newTrap(next http.Handler, method, suffix string) *trap {
	tr := &trap{next: next, method: method, suffix: suffix, hit: make(chan struct{})}
	tr.armed.Store(true)
	return tr
}

func (tr *trap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != tr.method || !strings.HasSuffix(r.URL.Path, tr.suffix) {
		tr.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	tr.next.ServeHTTP(rec, r)
	if rec.Code < 300 {
		tr.creates.Add(1)
	}
	if tr.armed.CompareAndSwap(true, false) {
		close(tr.hit)
		<-r.Context().Done()
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func pidOf(t *testing.T, h *host.Host, plugin string) int {
	t.Helper()
	for _, s := range h.Status() {
		if s.Plugin == plugin && s.PID != 0 {
			return s.PID
		}
	}
	t.Fatalf("plugin %s has no running process", plugin)
	return 0
}

// TestCrashMidProvisioningConverges kills the identity and the storage
// plugin (SIGKILL) in the middle of their create calls, after the upstream
// created the object; the steps fail, reconcile re-drives them, and the
// upstream ends with exactly one group and one space for the tenant.
func TestCrashMidProvisioningConverges(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		const token = "sim-token"
		ak := authentiksim.New(authentiksim.Options{Token: token})
		akTrap := newTrap(ak, http.MethodPost, "/core/groups/")
		akSrv := httptest.NewServer(akTrap)
		defer akSrv.Close()
		oc, err := ocissim.New(ocissim.Options{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		defer oc.Close()
		ocTrap := newTrap(oc, http.MethodPost, "/drives")
		ocSrv := httptest.NewServer(ocTrap)
		defer ocSrv.Close()

		h := startHost(t, map[sdk.Capability]host.Binding{
			sdk.CapabilityIdentity: {Plugin: "authentik", Settings: map[string]string{"url": akSrv.URL}, Secrets: host.Secrets{"token": token}},
			sdk.CapabilityStorage:  {Plugin: "ocis", Settings: map[string]string{"url": ocSrv.URL}, Secrets: host.Secrets{"token": token}},
			sdk.CapabilityBilling:  {Plugin: "test"},
		})
		groupsBefore := ak.Counts().Groups
		f := newFixture(t, d, h)
		tn := createTenant(t, f, "crashy", tenant.PlanStarter, 3)

		// Run the worker; kill each plugin once its create reached the
		// upstream.
		ctx, cancel := context.WithCancel(sys)
		defer cancel()
		done := make(chan struct{})
		go func() { defer close(done); f.prov.Run(ctx) }()
		for _, c := range []struct {
			tr     *trap
			plugin string
		}{{akTrap, "authentik"}, {ocTrap, "ocis"}} {
			select {
			case <-c.tr.hit:
			case <-time.After(2 * time.Minute):
				t.Fatalf("%s create never reached the upstream", c.plugin)
			}
			if err := syscall.Kill(pidOf(t, h, c.plugin), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		<-done

		// Whatever the worker got to, the failure is recorded, and the
		// plugins come back.
		sawFailure := auditCount(t, f, tn.Slug, "provider.identity.group_ensured", auditevent.OutcomeFailure) > 0 &&
			auditCount(t, f, tn.Slug, "provider.storage.space_ensured", auditevent.OutcomeFailure) > 0
		if !sawFailure {
			t.Fatal("the killed calls were not audited as FAILURE")
		}

		if _, err := f.prov.ReconcileTenant(sys, f.tenants, tn.Slug); err != nil {
			t.Fatal(err)
		}
		drain(t, f.prov, tn.ID)
		st := statuses(t, f, tn.Slug)
		for _, i := range []provisioning.Integration{provisioning.Identity, provisioning.Storage, provisioning.Billing} {
			if st[i].Status != provisioning.StatusOK {
				t.Fatalf("%s after reconcile: %s %q", i, st[i].Status, st[i].Message)
			}
		}
		if got := ak.Counts().Groups - groupsBefore; got != 1 || akTrap.creates.Load() != 1 {
			t.Fatalf("authentik: %d new groups, %d creates; want exactly 1", got, akTrap.creates.Load())
		}
		if n := ocTrap.creates.Load(); n != 1 {
			t.Fatalf("ocis: %d spaces created, want exactly 1", n)
		}
		storage, _ := h.Storage()
		sp, err := storage.EnsureSpace(context.Background(), sdk.EnsureSpaceRequest{TenantKey: tn.Slug, Name: tn.Name, QuotaBytes: provisioning.DefaultCatalog[tenant.PlanStarter].QuotaBytes})
		if err != nil {
			t.Fatal(err)
		}
		if sp.ID != st[provisioning.Storage].External["space_id"] || ocTrap.creates.Load() != 1 {
			t.Fatalf("recorded space %s, upstream space %s", st[provisioning.Storage].External["space_id"], sp.ID)
		}
		for i, ch := range planChanges(t, f, tn.Slug) {
			if len(ch) != 0 {
				t.Fatalf("plan after convergence: %s would change %v", i, ch)
			}
		}
	})
}

// TestAbandonedClaimIsRetaken: a job claimed by a worker that died is run
// once its lease expires (and at once by a restarted embedded server).
func TestAbandonedClaimIsRetaken(t *testing.T) {
	h := inMemory(t)
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, h)
		tn := createTenant(t, f, "abandoned", tenant.PlanStarter, 1)
		lease := time.Now().Add(200 * time.Millisecond)
		if d.Dialect == "sqlite3" {
			lease = time.Now().Add(time.Hour)
		}
		// The dead worker's claim.
		if err := d.Client.ProvisioningJob.Update().SetLockedUntil(lease).Exec(sys); err != nil {
			t.Fatal(err)
		}
		if d.Dialect == "sqlite3" {
			ctx, cancel := context.WithCancel(sys)
			done := make(chan struct{})
			go func() { defer close(done); f.service(h).Run(ctx) }()
			waitIdle(t, f, tn.ID)
			cancel()
			<-done
		} else {
			drain(t, f.prov, tn.ID)
		}
		for i, s := range statuses(t, f, tn.Slug) {
			if s.Status != provisioning.StatusOK {
				t.Fatalf("%s: %s %q", i, s.Status, s.Message)
			}
		}
	})
}

// waitIdle waits until the tenant has no queued job.
func waitIdle(t *testing.T, f *fixture, tenantID int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := f.prov.Pending(sys, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs still queued", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
