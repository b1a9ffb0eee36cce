package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/maildomain"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

func TestMain(m *testing.M) {
	code := testdb.Main(m)
	if pluginDir != "" {
		_ = os.RemoveAll(pluginDir)
	}
	os.Exit(code)
}

var (
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
	sys   = viewer.SystemContext(context.Background())
)

// Provider binaries are built once per test binary.
var (
	buildOnce sync.Once
	pluginDir string
)

func plugins(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dezky-ingest-plugins")
		if err != nil {
			t.Fatal(err)
		}
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/authentik", "authentik", dir)
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/stalwart", "stalwart", dir)
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/ocis", "ocis", dir)
		pluginDir = dir
	})
	if pluginDir == "" {
		t.Fatal("provider binaries did not build")
	}
	return pluginDir
}

// startHost launches the plugins bound in bindings.
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

// newTenant creates a tenant directly (no provisioning).
func newTenant(t *testing.T, d *db.DB, slug, name string, domains ...string) *ent.Tenant {
	t.Helper()
	tn, err := d.Client.Tenant.Create().SetSlug(slug).SetName(name).SetDomains(append([]string{}, domains...)).Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// verifiedDomain gives tn the mail domain name, verified (the state
// verifyMailDomain leaves it in when its DNS records check out).
func verifiedDomain(t *testing.T, d *db.DB, tn *ent.Tenant, name string) {
	t.Helper()
	now := time.Now()
	if err := d.Client.MailDomain.Create().SetTenantID(tn.ID).SetName(name).SetOwnershipToken(name + "-token").
		SetStatus(maildomain.StatusVerified).SetVerifiedAt(now).SetCheckedAt(now).Exec(sys); err != nil {
		t.Fatal(err)
	}
}

// pendingDomain gives tn the mail domain name, not verified.
func pendingDomain(t *testing.T, d *db.DB, tn *ent.Tenant, name string) {
	t.Helper()
	if err := d.Client.MailDomain.Create().SetTenantID(tn.ID).SetName(name).SetOwnershipToken(name + "-" + tn.Slug).Exec(sys); err != nil {
		t.Fatal(err)
	}
}

// newMember creates a platform user who is a member of tn.
func newMember(t *testing.T, d *db.DB, subject, email string, tn *ent.Tenant) *ent.User {
	t.Helper()
	u, err := d.Client.User.Create().SetSubject(subject).SetEmail(email).Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Client.Membership.Create().SetUserID(u.ID).SetTenantID(tn.ID).Exec(sys); err != nil {
		t.Fatal(err)
	}
	return u
}

// events returns the audit events of source, oldest first.
func events(t *testing.T, d *db.DB, source string) []*ent.AuditEvent {
	t.Helper()
	evs, err := d.Client.AuditEvent.Query().Where(auditevent.Source(source)).Order(ent.Asc(auditevent.FieldID)).All(sys)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// byAction indexes events by action (the last one wins).
func byAction(evs []*ent.AuditEvent) map[string]*ent.AuditEvent {
	out := map[string]*ent.AuditEvent{}
	for _, e := range evs {
		out[e.Action] = e
	}
	return out
}

// verifyChain chains everything pending and verifies the whole chain,
// which must hold every audit event of the database.
func verifyChain(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := audit.NewChainer(d, audit.ChainerOptions{Logger: quiet}).ChainPending(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := audit.Verify(ctx, audit.DBSource(d), nil)
	if err != nil {
		t.Fatal(err)
	}
	total, err := d.Client.AuditEvent.Query().Count(sys)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.EventsVerified != total {
		t.Fatalf("Verify = %+v, want ok over all %d events", r, total)
	}
	unchained, err := d.Client.AuditEvent.Query().Where(auditevent.SeqIsNil()).Count(sys)
	if err != nil || unchained != 0 {
		t.Fatalf("%d events left unchained (%v)", unchained, err)
	}
}

func tenantSlug(e *ent.AuditEvent) string {
	if e == nil {
		return "<missing>"
	}
	return e.TenantSlug
}

func mustTenant(t *testing.T, d *db.DB, slug string) *ent.Tenant {
	t.Helper()
	tn, err := d.Client.Tenant.Query().Where(tenant.Slug(slug)).Only(sys)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// eraseAndVerify erases the subject email as an operator, then checks that
// no ingested event of source still holds the address, that some event
// shows an erased field, and that the whole chain still verifies.
func eraseAndVerify(t *testing.T, d *db.DB, source, email string) {
	t.Helper()
	ctx := context.Background()
	key, err := audit.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ch := audit.NewChainer(d, audit.ChainerOptions{Logger: quiet})
	svc := audit.NewService(d, ch, audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Logger: quiet}), key)
	op := viewer.NewContext(ctx, &viewer.Viewer{Subject: "op", Email: "ops@dezky.example", Operator: true})
	res, err := svc.EraseSubject(op, email)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events == 0 {
		t.Fatalf("erasing %s changed no event", email)
	}
	erased := 0
	for _, e := range events(t, d, source) {
		if row := fmt.Sprintf("%s|%s|%s|%v", e.ActorEmail, e.ActorID, e.ActorIP, e.Metadata); strings.Contains(strings.ToLower(row), email) {
			t.Fatalf("event %d still holds %s: %s", e.ID, email, row)
		}
		if e.ActorEmail == audit.ErasedValue {
			erased++
		}
	}
	if erased == 0 {
		t.Fatalf("no %s event shows an erased actor e-mail", source)
	}
	verifyChain(t, d)
}
