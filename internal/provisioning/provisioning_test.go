package provisioning_test

import (
	"context"
	"errors"
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
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/pricing"
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
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/stripe", "stripe", dir)
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
	d         *db.DB
	providers provisioning.Providers
	tenants   *tenancy.Service
	// prov queues provisioning jobs; its engine is opened for inserts and
	// never works them (drain starts a replica that does).
	prov *provisioning.Service
	// maxAttempts of the jobs queued (0: the default).
	maxAttempts int
}

func newFixture(t *testing.T, d *db.DB, p provisioning.Providers) *fixture {
	t.Helper()
	f := &fixture{d: d, providers: p, tenants: tenancy.New(d.Client)}
	if _, err := pricing.EnsureDefaults(context.Background(), d.Client); err != nil {
		t.Fatal(err)
	}
	f.prov, _ = f.replica(t)
	f.tenants.SetLifecycle(f.prov)
	return f
}

// replica returns a provisioning service with a job engine of its own on
// the fixture's database, like another replica of the server: opened for
// inserts, not started; it is stopped when the test ends.
func (f *fixture) replica(t *testing.T) (*provisioning.Service, *jobs.Engine) {
	t.Helper()
	e := jobs.New(jobs.Config{DB: f.d, Log: quiet, Poll: 20 * time.Millisecond})
	s := provisioning.New(provisioning.Config{
		Client: f.d.Client, Jobs: e, Providers: f.providers, Log: quiet,
		Backoff:     provisioning.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		MaxAttempts: f.maxAttempts,
	})
	if err := e.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return s, e
}

// start starts a replica working provisioning jobs.
func (f *fixture) start(t *testing.T) *jobs.Engine {
	t.Helper()
	_, e := f.replica(t)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

var sys = viewer.SystemContext(context.Background())

// waitIdle waits until no provisioning job is unfinished.
func waitIdle(t *testing.T, e *jobs.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(sys, 2*time.Minute)
	defer cancel()
	if err := e.WaitIdle(ctx, provisioning.JobKind); err != nil {
		t.Fatal(err)
	}
}

// drain works every queued provisioning job on a replica started for it,
// and stops the replica once none is unfinished.
func drain(t *testing.T, f *fixture) {
	t.Helper()
	e := f.start(t)
	waitIdle(t, e)
	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func queued(t *testing.T, f *fixture) int {
	t.Helper()
	n, err := f.prov.Queued(sys)
	if err != nil {
		t.Fatal(err)
	}
	return n
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
		drain(t, f)
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
		drain(t, f)
		if s := sub(); s.Quantity != 8 {
			t.Fatalf("subscription quantity %d, want 8", s.Quantity)
		}
		if auditCount(t, f, tn.Slug, "provider.billing.subscription_quantity_updated", auditevent.OutcomeSuccess) != 1 {
			t.Fatal("quantity change not audited")
		}

		if _, err := f.tenants.SuspendTenant(sys, tn.Slug); err != nil {
			t.Fatal(err)
		}
		drain(t, f)
		if s := sub(); !s.Paused {
			t.Fatalf("suspended tenant's subscription not paused: %+v", s)
		}
		if _, err := f.tenants.ResumeTenant(sys, tn.Slug); err != nil {
			t.Fatal(err)
		}
		drain(t, f)
		if s := sub(); s.Paused {
			t.Fatalf("resumed tenant's subscription still paused: %+v", s)
		}
		if _, err := f.tenants.DeleteTenant(sys, tn.Slug); err != nil {
			t.Fatal(err)
		}
		drain(t, f)
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
		drain(t, f)
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
			drain(t, f)
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
		drain(t, f)
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
// after the process that queued them is gone, and two replicas sharing
// the queue run every job exactly once.
func TestJobsSurviveRestartAndRunOnce(t *testing.T) {
	h := inMemory(t)
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, h)
		slugs := []string{"one", "two", "three", "four"}
		for _, slug := range slugs {
			createTenant(t, f, slug+"-"+d.Dialect, tenant.PlanStarter, 1)
		}
		if n := queued(t, f); n != 4*len(slugs) {
			t.Fatalf("%d jobs queued, want one per tenant and integration", n)
		}
		// "Restart": the queuing service is dropped without running a
		// job; two fresh replicas share the queue.
		f.start(t)
		waitIdle(t, f.start(t))
		for _, slug := range slugs {
			slug += "-" + d.Dialect
			for _, a := range []string{"provider.identity.group_ensured", "provider.storage.space_ensured", "provider.billing.subscription_created"} {
				if n := auditCount(t, f, slug, a, auditevent.OutcomeSuccess); n != 1 {
					t.Fatalf("%s: %d × %s, want exactly one run per job", slug, n, a)
				}
			}
		}
	})
}

// TestRolledBackChangeQueuesNothing: a tenant change whose transaction
// rolls back leaves no job and no status behind; nothing runs upstream.
func TestRolledBackChangeQueuesNothing(t *testing.T) {
	h := inMemory(t)
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, h)
		boom := errors.New("later step of the change failed")
		err := db.WithTx(sys, d.Client, func(ctx context.Context) error {
			plan, seats := tenant.PlanStarter, 2
			if _, err := f.tenants.CreateTenant(ctx, tenancy.CreateTenantInput{Slug: "ghost", Name: "Ghost", Plan: &plan, Seats: &seats}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("change: %v", err)
		}
		if n := queued(t, f); n != 0 {
			t.Fatalf("%d jobs queued by a rolled-back change", n)
		}
		n, err := d.Client.ProvisioningState.Query().Count(sys)
		if err != nil || n != 0 {
			t.Fatalf("%d statuses (%v) left by a rolled-back change", n, err)
		}
		drain(t, f)
		if n := auditCount(t, f, "ghost", "provider.identity.group_ensured", auditevent.OutcomeSuccess); n != 0 {
			t.Fatalf("rolled-back tenant provisioned upstream (%d groups)", n)
		}
	})
}

// TestChangesMergeUntilTheJobStarts: changes queued before a job starts
// merge into it (river unique jobs); a job that already ran is never
// reused, so a later change queues a new one.
func TestChangesMergeUntilTheJobStarts(t *testing.T) {
	h := inMemory(t)
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, h)
		tn := createTenant(t, f, "merge-"+d.Dialect, tenant.PlanStarter, 1)
		for seats := 2; seats <= 4; seats++ {
			if _, err := f.tenants.UpdateTenant(sys, tn.Slug, tenancy.UpdateTenantInput{Seats: ptr(seats)}); err != nil {
				t.Fatal(err)
			}
		}
		if n := queued(t, f); n != 4 {
			t.Fatalf("%d jobs queued, want 4 (seat changes merge into the queued billing job)", n)
		}
		drain(t, f)
		billing, _ := h.Billing()
		subID := statuses(t, f, tn.Slug)[provisioning.Billing].External["subscription_id"]
		if sub, err := billing.GetSubscription(context.Background(), subID); err != nil || sub.Quantity != 4 {
			t.Fatalf("subscription %+v (%v), want 4 seats", sub, err)
		}
		if _, err := f.tenants.UpdateTenant(sys, tn.Slug, tenancy.UpdateTenantInput{Seats: ptr(5)}); err != nil {
			t.Fatal(err)
		}
		if n := queued(t, f); n != 1 {
			t.Fatalf("%d jobs queued after a change to a provisioned tenant, want 1", n)
		}
		drain(t, f)
		if sub, _ := billing.GetSubscription(context.Background(), subID); sub.Quantity != 5 {
			t.Fatalf("subscription quantity %d, want 5", sub.Quantity)
		}
	})
}

// gate holds the first matching request until released, then passes it
// (and every other request) to next.
type gate struct {
	next    http.Handler
	method  string
	suffix  string
	armed   atomic.Bool
	hit     chan struct{}
	release chan struct{}
}

func newGate(next http.Handler, method, suffix string) *gate {
	g := &gate{next: next, method: method, suffix: suffix, hit: make(chan struct{}), release: make(chan struct{})}
	g.armed.Store(true)
	return g
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == g.method && strings.HasSuffix(r.URL.Path, g.suffix) && g.armed.CompareAndSwap(true, false) {
		close(g.hit)
		<-g.release
	}
	g.next.ServeHTTP(w, r)
}

// TestChangeDuringARunningStepIsNotLost renames a tenant while its
// identity step is running (the step read the old name): the rename
// queues a job of its own instead of merging into the running one, and
// the group ends with the new name.
func TestChangeDuringARunningStepIsNotLost(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		const token = "sim-token"
		ak := authentiksim.New(authentiksim.Options{Token: token})
		g := newGate(ak, http.MethodPost, "/core/groups/")
		srv := httptest.NewServer(g)
		defer srv.Close()
		h := startHost(t, map[sdk.Capability]host.Binding{
			sdk.CapabilityIdentity: {Plugin: "authentik", Settings: map[string]string{"url": srv.URL}, Secrets: host.Secrets{"token": token}},
		})
		groupsBefore := ak.Counts().Groups
		f := newFixture(t, d, h)
		tn := createTenant(t, f, "renamed", tenant.PlanFree, 1)
		e := f.start(t)
		select {
		case <-g.hit:
		case <-time.After(2 * time.Minute):
			t.Fatal("the identity step never reached the upstream")
		}
		if _, err := f.tenants.UpdateTenant(sys, tn.Slug, tenancy.UpdateTenantInput{Name: ptr("Renamed Corp")}); err != nil {
			t.Fatal(err)
		}
		close(g.release)
		waitIdle(t, e)
		if n := auditCount(t, f, tn.Slug, "provider.identity.group_ensured", auditevent.OutcomeSuccess); n != 2 {
			t.Fatalf("group ensured %d times, want 2 (the running step, then the rename)", n)
		}
		if got := ak.Counts().Groups - groupsBefore; got != 1 {
			t.Fatalf("%d groups upstream, want 1", got)
		}
		if st := statuses(t, f, tn.Slug)[provisioning.Identity]; st.Status != provisioning.StatusOK {
			t.Fatalf("identity: %s %q", st.Status, st.Message)
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

		// Run a replica; kill each plugin once its create reached the
		// upstream.
		e := f.start(t)
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
		if err := e.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}

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
		drain(t, f)
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

// outage answers 503 to every request while down is set.
type outage struct {
	next http.Handler
	down atomic.Bool
}

func (o *outage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o.down.Load() {
		http.Error(w, "upstream down for maintenance", http.StatusServiceUnavailable)
		return
	}
	o.next.ServeHTTP(w, r)
}

// TestExhaustedJobLeavesErrorUntilReconcile: a step failing on every
// attempt is given up after MaxAttempts with the integration in ERROR and
// the upstream's message; reconcileTenant re-drives it once the upstream
// is back.
func TestExhaustedJobLeavesErrorUntilReconcile(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		const token = "sim-token"
		o := &outage{next: authentiksim.New(authentiksim.Options{Token: token})}
		o.down.Store(true)
		srv := httptest.NewServer(o)
		defer srv.Close()
		h := startHost(t, map[sdk.Capability]host.Binding{
			sdk.CapabilityIdentity: {Plugin: "authentik", Settings: map[string]string{"url": srv.URL}, Secrets: host.Secrets{"token": token}},
		})
		f := &fixture{d: d, providers: h, tenants: tenancy.New(d.Client), maxAttempts: 3}
		f.prov, _ = f.replica(t)
		f.tenants.SetLifecycle(f.prov)
		tn := createTenant(t, f, "outage", tenant.PlanFree, 1)
		drain(t, f)
		st := statuses(t, f, tn.Slug)[provisioning.Identity]
		if st.Status != provisioning.StatusError || !strings.HasPrefix(st.Message, "gave up after 3 attempts: ") || !strings.Contains(st.Message, "status 503") {
			t.Fatalf("identity after 3 failed attempts: %s %q", st.Status, st.Message)
		}
		if n := auditCount(t, f, tn.Slug, "provider.identity.group_ensured", auditevent.OutcomeFailure); n != 3 {
			t.Fatalf("%d failed attempts audited, want 3", n)
		}

		o.down.Store(false)
		if _, err := f.prov.ReconcileTenant(sys, f.tenants, tn.Slug); err != nil {
			t.Fatal(err)
		}
		drain(t, f)
		if st := statuses(t, f, tn.Slug)[provisioning.Identity]; st.Status != provisioning.StatusOK {
			t.Fatalf("identity after reconcile: %s %q", st.Status, st.Message)
		}
	})
}
