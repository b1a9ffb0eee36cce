package server

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/partner"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/authn"
	"github.com/dezky/platform/internal/authn/devissuer"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestViewerCacheFollowsEveryChange caches a caller's viewer on this
// replica and on another one (a cache that hears only the database), and
// checks that a cached request reads nothing and that every change a
// viewer is made of reaches both: at once here, through PostgreSQL's
// notifications there; a change in a transaction only once it commits.
func TestViewerCacheFollowsEveryChange(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sys := viewer.SystemContext(ctx)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

		srv := httptest.NewServer(nil)
		defer srv.Close()
		issuer, err := devissuer.LoadOrCreate(filepath.Join(t.TempDir(), "issuer.pem"), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = issuer.Handler()
		verifier, err := authn.NewVerifier(authn.Config{Issuers: []string{srv.URL}, Audiences: []string{"portal"}})
		if err != nil {
			t.Fatal(err)
		}
		token, err := issuer.Mint(devissuer.MintClaims{Subject: "cached-user", Audience: []string{"portal"}, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}

		p := d.Client.Partner.Create().SetSlug("cache-partner").SetName("Cache Partner").SaveX(sys)
		tn := d.Client.Tenant.Create().SetSlug("cache-tenant").SetName("Cache Tenant").SaveX(sys)
		u := d.Client.User.Create().SetSubject("cached-user").SetEmail("cached@example.com").SetPartnerID(p.ID).SaveX(sys)
		m := d.Client.Membership.Create().SetUserID(u.ID).SetTenantID(tn.ID).SetRole(membership.RoleAdmin).
			SetStatus(membership.StatusActive).SaveX(sys)

		var statements atomic.Int64
		counting := ent.NewClient(ent.Driver(dialect.DebugWithContext(entsql.OpenDB(d.Dialect, d.SQL),
			func(context.Context, ...any) { statements.Add(1) })))
		here := NewViewerCache(d, quiet)
		defer here.Close()
		go here.Run(ctx)
		auths := []*Authenticator{{Verifier: verifier, Client: counting, Cache: here}}
		if d.IsPostgres() {
			// Another replica: not told of this process's changes.
			there := &ViewerCache{db: d, log: quiet, MaxAge: time.Hour, Size: 100, m: map[[32]byte]cachedViewer{},
				pending: make(chan struct{}, 1)}
			go there.Run(ctx)
			auths = append(auths, &Authenticator{Verifier: verifier, Client: d.Client, Cache: there})
			time.Sleep(200 * time.Millisecond) // the listeners are listening
		}
		// expect waits until every replica's viewer of token satisfies ok.
		expect := func(what string, ok func(*viewer.Viewer, error) bool) {
			t.Helper()
			for i, a := range auths {
				for {
					v, _, err := a.ViewerUntil(ctx, token, "192.0.2.1")
					if ok(v, err) {
						break
					}
					if i == 0 || ctx.Err() != nil {
						t.Fatalf("replica %d: %s: viewer %+v, %v", i, what, v, err)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		expect("admin of the tenant, staff of the partner", func(v *viewer.Viewer, err error) bool {
			return err == nil && v.Tenants[tn.ID] == viewer.RoleAdmin && v.PartnerID == p.ID && v.IP == "192.0.2.1"
		})
		statements.Store(0)
		expect("cached", func(v *viewer.Viewer, err error) bool { return err == nil && v.Tenants[tn.ID] == viewer.RoleAdmin })
		if n := statements.Load(); n != 0 {
			t.Fatalf("a cached viewer read %d statements", n)
		}

		// A change in a transaction counts from its commit.
		tx, err := d.Client.Tx(sys)
		if err != nil {
			t.Fatal(err)
		}
		tx.Membership.UpdateOneID(m.ID).SetRole(membership.RoleMember).ExecX(sys)
		v, _, err := auths[0].ViewerUntil(ctx, token, "")
		if err != nil || v.Tenants[tn.ID] != viewer.RoleAdmin {
			t.Fatalf("before the commit: %+v, %v", v, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		expect("member after the commit", func(v *viewer.Viewer, err error) bool {
			return err == nil && v.Tenants[tn.ID] == viewer.RoleMember
		})
		d.Client.Membership.UpdateOneID(m.ID).SetStatus(membership.StatusSuspended).ExecX(sys)
		expect("suspended membership", func(v *viewer.Viewer, err error) bool {
			_, has := v.Tenants[tn.ID]
			return err == nil && !has
		})
		d.Client.Membership.UpdateOneID(m.ID).SetStatus(membership.StatusActive).ExecX(sys)
		d.Client.Tenant.UpdateOneID(tn.ID).SetStatus(tenant.StatusDeleted).ExecX(sys)
		expect("deleted tenant", func(v *viewer.Viewer, err error) bool {
			_, has := v.Tenants[tn.ID]
			return err == nil && !has
		})
		d.Client.Partner.UpdateOneID(p.ID).SetStatus(partner.StatusSuspended).ExecX(sys)
		expect("suspended partner", func(v *viewer.Viewer, err error) bool { return err == nil && v.PartnerID == 0 })
		d.Client.User.UpdateOneID(u.ID).SetActive(false).ExecX(sys)
		expect("deactivated user", func(v *viewer.Viewer, err error) bool { return IsDisabled(err) })
	})
}
