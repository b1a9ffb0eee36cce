package rule_test

import (
	"context"
	"os"
	"testing"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/partner"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/demo"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// viewerFor builds the viewer the auth middleware would for a demo user.
func viewerFor(t *testing.T, c *ent.Client, subject string, operator bool) *viewer.Viewer {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	u := c.User.Query().Where(user.Subject(subject)).OnlyX(sys)
	v := &viewer.Viewer{Subject: u.Subject, Email: u.Email, UserID: u.ID, Operator: operator && u.PlatformAdmin, Tenants: map[int]viewer.Role{}}
	if u.PartnerID != nil {
		v.PartnerID = *u.PartnerID
	}
	for _, m := range c.Membership.Query().Where(membership.UserID(u.ID)).AllX(sys) {
		v.Tenants[m.TenantID] = viewer.Role(map[membership.Role]viewer.Role{membership.RoleAdmin: viewer.RoleAdmin, membership.RoleMember: viewer.RoleMember}[m.Role])
	}
	return v
}

// TestPolicies checks the privacy rules directly on the ent client (no
// GraphQL in between): what each role sees and may change.
func TestPolicies(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		c := d.Client
		if _, err := demo.Seed(context.Background(), c, tenancy.New(c), "test"); err != nil {
			t.Fatal(err)
		}
		type want struct {
			tenants, partners, users, memberships, audit int
			flagsDenied                                  bool
		}
		for _, tc := range []struct {
			subject  string
			operator bool
			want     want
		}{
			{demo.OperatorSubject, true, want{2, 1, 6, 4, 13, false}},
			{demo.OperatorSubject, false, want{0, 0, 1, 0, 0, true}}, // platform admin without the operator audience
			{"demo-northwind-staff", false, want{1, 1, 3, 2, 2, true}},
			{"demo-acme-admin", false, want{1, 0, 2, 2, 1, true}},
			{"demo-acme-member", false, want{1, 0, 1, 1, 0, true}},
			{"demo-globex-admin", false, want{1, 0, 2, 2, 1, true}},
		} {
			ctx := viewer.NewContext(context.Background(), viewerFor(t, c, tc.subject, tc.operator))
			got := want{
				tenants:     c.Tenant.Query().CountX(ctx),
				partners:    c.Partner.Query().CountX(ctx),
				users:       c.User.Query().CountX(ctx),
				memberships: c.Membership.Query().CountX(ctx),
				audit:       c.AuditEvent.Query().CountX(ctx),
			}
			_, err := c.Flag.Query().Count(ctx)
			got.flagsDenied = err != nil
			if got != tc.want {
				t.Errorf("%s (operator %v): sees %+v, want %+v", tc.subject, tc.operator, got, tc.want)
			}
		}

		sys := viewer.SystemContext(context.Background())
		acme := c.Tenant.Query().Where(tenant.Slug("acme")).OnlyX(sys)
		globex := c.Tenant.Query().Where(tenant.Slug("globex")).OnlyX(sys)
		nw := c.Partner.Query().Where(partner.Slug("northwind")).OnlyX(sys)
		as := func(subject string) context.Context {
			return viewer.NewContext(context.Background(), viewerFor(t, c, subject, false))
		}
		for _, tc := range []struct {
			name string
			err  func() error
			ok   bool
		}{
			{"no viewer reads", func() error { _, err := c.Tenant.Query().Count(context.Background()); return err }, false},
			{"staff updates own tenant", func() error { return c.Tenant.UpdateOne(acme).SetSeats(30).Exec(as("demo-northwind-staff")) }, true},
			{"staff updates foreign tenant", func() error { return c.Tenant.UpdateOne(globex).SetSeats(30).Exec(as("demo-northwind-staff")) }, false},
			{"staff re-parents", func() error { return c.Tenant.UpdateOne(acme).ClearPartnerID().Exec(as("demo-northwind-staff")) }, false},
			{"staff deletes", func() error {
				return c.Tenant.UpdateOne(acme).SetStatus(tenant.StatusDeleted).Exec(as("demo-northwind-staff"))
			}, false},
			{"admin brands own", func() error { return c.Tenant.UpdateOne(acme).SetBrandColor("#000000").Exec(as("demo-acme-admin")) }, true},
			{"admin changes plan", func() error {
				return c.Tenant.UpdateOne(acme).SetPlan(tenant.PlanEnterprise).Exec(as("demo-acme-admin"))
			}, false},
			{"admin brands foreign", func() error { return c.Tenant.UpdateOne(globex).SetBrandColor("#000000").Exec(as("demo-acme-admin")) }, false},
			{"member brands own", func() error { return c.Tenant.UpdateOne(acme).SetBrandColor("#000000").Exec(as("demo-acme-member")) }, false},
			{"admin creates tenant", func() error { return c.Tenant.Create().SetSlug("evil").SetName("x").Exec(as("demo-acme-admin")) }, false},
			{"staff updates partner", func() error { return c.Partner.UpdateOne(nw).SetMarginPct(99).Exec(as("demo-northwind-staff")) }, false},
			{"admin deletes tenant rows", func() error { _, err := c.Tenant.Delete().Exec(as("demo-acme-admin")); return err }, false},
			{"operator edits audit", func() error {
				op := viewer.NewContext(context.Background(), viewerFor(t, c, demo.OperatorSubject, true))
				_, err := c.AuditEvent.Update().SetPrevHash("x").Save(op)
				return err
			}, false},
			{"operator deletes audit", func() error {
				op := viewer.NewContext(context.Background(), viewerFor(t, c, demo.OperatorSubject, true))
				_, err := c.AuditEvent.Delete().Exec(op)
				return err
			}, false},
		} {
			err := tc.err()
			if (err == nil) != tc.ok {
				t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
			}
		}
		if got := c.Tenant.GetX(sys, globex.ID).BrandColor; got != nil {
			t.Errorf("foreign tenant changed: brandColor %v", *got)
		}
	})
}
