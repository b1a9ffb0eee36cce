package members_test

import (
	"bytes"
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
	"github.com/dezky/platform/ent/memberprovisioning"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/members"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/authentik/authentiksim"
	"github.com/dezky/platform/providers/ocis/ocissim"
	"github.com/dezky/platform/providers/stalwart/stalwartsim"
)

func TestMain(m *testing.M) {
	code := testdb.Main(m)
	if pluginDir != "" {
		_ = os.RemoveAll(pluginDir)
	}
	os.Exit(code)
}

var (
	quiet     = slog.New(slog.NewTextHandler(io.Discard, nil))
	buildOnce sync.Once
	pluginDir string
	sys       = viewer.SystemContext(context.Background())
)

const token = "sim-token"

func plugins(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dezky-members-plugins")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"authentik", "ocis", "stalwart"} {
			conformance.BuildProvider(t, "github.com/dezky/platform/providers/"+p, p, dir)
		}
		pluginDir = dir
	})
	if pluginDir == "" {
		t.Fatal("provider binaries did not build")
	}
	return pluginDir
}

// upstreams are the three simulators behind optional traps, served over
// loopback, and a plugin host bound to them.
type upstreams struct {
	ak     *authentiksim.Sim
	mail   *stalwartsim.Sim
	oc     *ocissim.Sim
	akTrap *trap
	mTrap  *trap
	host   *host.Host
}

func startUpstreams(t *testing.T) *upstreams {
	t.Helper()
	u := &upstreams{ak: authentiksim.New(authentiksim.Options{Token: token}), mail: stalwartsim.New(stalwartsim.Options{Token: token})}
	var err error
	if u.oc, err = ocissim.New(ocissim.Options{Token: token}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.oc.Close() })
	u.akTrap = newTrap(u.ak, func(r *http.Request, _ []byte) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/core/users/")
	})
	u.mTrap = newTrap(u.mail, func(r *http.Request, body []byte) bool {
		return r.Method == http.MethodPost && bytes.Contains(body, []byte(`"x:Account/set"`)) && bytes.Contains(body, []byte(`"create"`))
	})
	ak, ms, oc := httptest.NewServer(u.akTrap), httptest.NewServer(u.mTrap), httptest.NewServer(u.oc)
	t.Cleanup(func() { ak.Close(); ms.Close(); oc.Close() })
	h, err := host.New(host.Config{
		Dir: plugins(t), Logger: quiet,
		Capabilities: map[sdk.Capability]host.Binding{
			sdk.CapabilityIdentity: {Plugin: "authentik", Settings: map[string]string{"url": ak.URL, "recovery_token_duration": "hours=2"}, Secrets: host.Secrets{"token": token}},
			sdk.CapabilityMail:     {Plugin: "stalwart", Settings: map[string]string{"url": ms.URL}, Secrets: host.Secrets{"token": token}},
			sdk.CapabilityStorage:  {Plugin: "ocis", Settings: map[string]string{"url": oc.URL}, Secrets: host.Secrets{"token": token}},
		},
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
	u.host = h
	return u
}

// trap lets the first matching request reach the upstream (which creates
// the object) and then never answers it, so the test can kill the plugin
// while the call is in flight. Disarmed traps pass everything through.
type trap struct {
	next    http.Handler
	match   func(*http.Request, []byte) bool
	armed   atomic.Bool
	hit     chan struct{}
	creates atomic.Int32
}

func newTrap(next http.Handler, match func(*http.Request, []byte) bool) *trap {
	return &trap{next: next, match: match, hit: make(chan struct{})}
}

func (tr *trap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !tr.match(r, body) {
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

type fixture struct {
	d       *db.DB
	up      *upstreams
	members *members.Service
	tenant  *ent.Tenant
}

// newFixture starts a job engine with the member worker on d and creates
// tenant "acme" with mail domain acme.example at the mail server.
func newFixture(t *testing.T, d *db.DB, up *upstreams) *fixture {
	t.Helper()
	ts := tenancy.New(d.Client)
	e := jobs.New(jobs.Config{DB: d, Poll: 20 * time.Millisecond, Log: quiet})
	svc := members.New(members.Config{DB: d, Tenancy: ts, Providers: up.host, Engine: e, Log: quiet,
		Backoff: provisioning.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}})
	svc.Register(e)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	var tn *ent.Tenant
	if err := db.WithTx(sys, d.Client, func(ctx context.Context) error {
		var err error
		plan := tenant.PlanStarter
		tn, err = ts.CreateTenant(ctx, tenancy.CreateTenantInput{Slug: "acme", Name: "Acme", Plan: &plan, Domains: []string{"acme.example"}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	mail, _ := up.host.Mail()
	if _, err := mail.CreateDomain(context.Background(), sdk.CreateDomainRequest{Name: "acme.example"}); err != nil {
		t.Fatal(err)
	}
	return &fixture{d: d, up: up, members: svc, tenant: tn}
}

// member loads the membership of email in acme and its status rows; nil
// when it is gone.
func (f *fixture) member(t *testing.T, email string) (*ent.Membership, map[memberprovisioning.Integration]*ent.MemberProvisioning) {
	t.Helper()
	m, err := f.d.Client.Membership.Query().Where(membership.TenantID(f.tenant.ID), membership.HasUserWith(user.Email(email))).
		WithUser().Only(sys)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.d.Client.MemberProvisioning.Query().Where(memberprovisioning.MembershipID(m.ID)).All(sys)
	if err != nil {
		t.Fatal(err)
	}
	out := map[memberprovisioning.Integration]*ent.MemberProvisioning{}
	for _, r := range rows {
		out[r.Integration] = r
	}
	return m, out
}

// waitFor polls until cond holds for the member.
func (f *fixture) waitFor(t *testing.T, email, what string, cond func(*ent.Membership, map[memberprovisioning.Integration]*ent.MemberProvisioning) bool) (*ent.Membership, map[memberprovisioning.Integration]*ent.MemberProvisioning) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, st := f.member(t, email)
		if cond(m, st) {
			return m, st
		}
		if time.Now().After(deadline) {
			for i, r := range st {
				t.Logf("%s: %s %q", i, r.Status, r.Message)
			}
			t.Fatalf("%s: timed out waiting for %s", email, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allOK(m *ent.Membership, st map[memberprovisioning.Integration]*ent.MemberProvisioning) bool {
	if m == nil || len(st) != 3 {
		return false
	}
	for _, r := range st {
		if r.Status != memberprovisioning.StatusOk {
			return false
		}
	}
	return m.Status == membership.StatusActive
}

func create(t *testing.T, f *fixture, email string) *members.CredentialPayload {
	t.Helper()
	p, err := f.members.CreateMember(sys, "acme", members.CreateMemberInput{Email: email, Name: "Test Person"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOneTimePasswordWithoutRecoveryFlow: while the identity provider has
// no recovery flow ("No recovery flow set."), the credential is a 16
// character password of every class and no confusable character, set as
// expired at the identity provider; once the recovery flow is ensured,
// credentials are recovery links.
func TestOneTimePasswordWithoutRecoveryFlow(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		up := startUpstreams(t)
		f := newFixture(t, d, up)
		email := "otp-" + d.Dialect + "@acme.example"
		p := create(t, f, email)
		c := p.Credential
		if c == nil || c.Kind != members.OneTimePassword || len(c.Value) != members.PasswordLength {
			t.Fatalf("credential: %v", c)
		}
		if strings.ContainsAny(c.Value, "IOl01") || !strings.ContainsAny(c.Value, "ABCDEFGHJKLMNPQRSTUVWXYZ") ||
			!strings.ContainsAny(c.Value, "abcdefghijkmnopqrstuvwxyz") || !strings.ContainsAny(c.Value, "23456789") ||
			!strings.ContainsAny(c.Value, "!#$%&*+-=?@^_") {
			t.Fatalf("password %q misses a class or holds a confusable character", c.Value)
		}
		if !up.ak.CheckPassword(email, c.Value) {
			t.Fatal("the identity provider does not accept the one-time password")
		}
		idp, _ := up.host.Identity()
		su, err := idp.GetUser(context.Background(), *p.Member.Edges.User.IdentityID)
		if err != nil || su.Attributes["passwordExpired"] != "true" {
			t.Fatalf("password not marked expired: %+v %v", su.Attributes, err)
		}
		if strings.Contains(c.String(), c.Value) {
			t.Fatal("String reveals the credential")
		}
		f.waitFor(t, email, "all OK", allOK)

		f.members.Start(context.Background()) // ensures the recovery flow
		r, err := f.members.ResetPassword(sys, "acme", email)
		if err != nil || r.Credential.Kind != members.RecoveryLink || !strings.Contains(r.Credential.Value, "flow_token=") {
			t.Fatalf("reset after the recovery flow exists: %v %v", r, err)
		}
		if at := r.Credential.ExpiresAt; at == nil || at.Before(time.Now().Add(time.Hour)) || at.After(time.Now().Add(2*time.Hour)) {
			t.Fatalf("recovery link expires at %v, want in about two hours (recovery_token_duration)", at)
		}
	})
}

// TestForceLogoutEndsOnlyThatUsersSessions: two members with sessions; a
// force logout of one ends exactly their sessions.
func TestForceLogoutEndsOnlyThatUsersSessions(t *testing.T) {
	up := startUpstreams(t)
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, up)
		a, b := "a-"+d.Dialect+"@acme.example", "b-"+d.Dialect+"@acme.example"
		pa, pb := create(t, f, a), create(t, f, b)
		for _, e := range []string{a, a, b} {
			if _, err := up.ak.Login(e, "192.0.2.1", "test"); err != nil {
				t.Fatal(err)
			}
		}
		pkOf := func(p *members.CredentialPayload) int {
			su, _ := up.host.Identity()
			u, err := su.GetUser(context.Background(), *p.Member.Edges.User.IdentityID)
			if err != nil {
				t.Fatal(err)
			}
			var pk int
			for _, ch := range u.ID {
				pk = pk*10 + int(ch-'0')
			}
			return pk
		}
		out, err := f.members.ForceLogout(sys, "acme", a)
		if err != nil || out.SessionsEnded != 2 {
			t.Fatalf("force logout: %+v %v", out, err)
		}
		if n := up.ak.SessionCount(pkOf(pa)); n != 0 {
			t.Fatalf("%s still has %d sessions", a, n)
		}
		if n := up.ak.SessionCount(pkOf(pb)); n != 1 {
			t.Fatalf("%s has %d sessions, want 1", b, n)
		}
	})
}

// TestPartialFailureConverges: with the mail server down, the member's
// MAIL integration is ERROR with the upstream's message while IDENTITY and
// STORAGE are OK; once it is back, reconcileMember converges.
func TestPartialFailureConverges(t *testing.T) {
	up := startUpstreams(t)
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, up)
		email := "partial-" + d.Dialect + "@acme.example"
		up.mail.SetOutage(http.StatusServiceUnavailable)
		create(t, f, email)
		_, st := f.waitFor(t, email, "MAIL error", func(m *ent.Membership, st map[memberprovisioning.Integration]*ent.MemberProvisioning) bool {
			return len(st) == 3 && st[members.Mail].Status == memberprovisioning.StatusError &&
				st[members.Identity].Status == memberprovisioning.StatusOk && st[members.Storage].Status == memberprovisioning.StatusOk
		})
		if msg := st[members.Mail].Message; !strings.Contains(strings.ToLower(msg), "unavailable") {
			t.Fatalf("MAIL message %q does not carry the upstream's failure", msg)
		}
		if m, _ := f.member(t, email); m.Status != membership.StatusPending {
			t.Fatalf("member with a failed integration is %s, want PENDING", m.Status)
		}
		up.mail.ClearFaults()
		if _, err := f.members.ReconcileMember(sys, "acme", email); err != nil {
			t.Fatal(err)
		}
		m, _ := f.waitFor(t, email, "all OK", allOK)
		if m.Mailbox == nil || *m.Mailbox != email {
			t.Fatalf("mailbox: %v", m.Mailbox)
		}
	})
}

// TestCrashMidMemberCreationConverges kills the identity plugin (SIGKILL)
// while createMember's SSO user create is in flight, and the mail plugin
// while the job's mailbox create is in flight, each after the upstream
// created the object. The first createMember fails and changes nothing;
// the retry and a reconcile converge with exactly one upstream user and
// one mailbox.
func TestCrashMidMemberCreationConverges(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		up := startUpstreams(t)
		f := newFixture(t, d, up)
		const email = "crashy@acme.example"
		usersBefore, accountsBefore := up.ak.Counts().Users, up.mail.Counts().Accounts

		up.akTrap.armed.Store(true)
		errc := make(chan error, 1)
		go func() {
			_, err := f.members.CreateMember(sys, "acme", members.CreateMemberInput{Email: email, Name: "Crashy"})
			errc <- err
		}()
		killOnHit(t, up.host, up.akTrap, "authentik")
		if err := <-errc; err == nil {
			t.Fatal("createMember succeeded although the identity plugin died mid-call")
		}
		if m, _ := f.member(t, email); m != nil {
			t.Fatal("a failed createMember left a member behind")
		}

		up.mTrap.armed.Store(true)
		// The retry, once the supervisor restarted the plugin.
		var p *members.CredentialPayload
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			var err error
			p, err = f.members.CreateMember(sys, "acme", members.CreateMemberInput{Email: email, Name: "Crashy"})
			if err == nil {
				break
			}
			if apperr.CodeOf(err) != apperr.Unavailable || time.Now().After(deadline) {
				t.Fatal(err)
			}
		}
		if p.Credential == nil {
			t.Fatal("no credential on the retry")
		}
		killOnHit(t, up.host, up.mTrap, "stalwart")
		if _, err := f.members.ReconcileMember(sys, "acme", email); err != nil {
			t.Fatal(err)
		}
		f.waitFor(t, email, "all OK", allOK)
		if n := up.ak.Counts().Users - usersBefore; n != 1 || up.akTrap.creates.Load() != 1 {
			t.Fatalf("authentik: %d new users, %d creates; want exactly 1", n, up.akTrap.creates.Load())
		}
		if n := up.mTrap.creates.Load(); n != 1 {
			t.Fatalf("stalwart: %d mailbox creates, want exactly 1", n)
		}
		if n := up.mail.Counts().Accounts - accountsBefore; n != 1 {
			t.Fatalf("stalwart: %d new accounts, want exactly 1", n)
		}
	})
}

func killOnHit(t *testing.T, h *host.Host, tr *trap, plugin string) {
	t.Helper()
	select {
	case <-tr.hit:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s create never reached the upstream", plugin)
	}
	for _, s := range h.Status() {
		if s.Plugin == plugin && s.PID != 0 {
			if err := syscall.Kill(s.PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("plugin %s has no running process", plugin)
}
