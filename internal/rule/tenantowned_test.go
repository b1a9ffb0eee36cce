package rule_test

import (
	"context"
	"testing"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/partner"
	"github.com/dezky/platform/ent/securitypolicy"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/demo"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestTenantOwnedRules checks the tenant-owned and partner-owned rules on
// the ent client directly: who may create, read, change and delete a
// tenant's settings rows and a partner's settings.
func TestTenantOwnedRules(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		c := d.Client
		if _, err := demo.Seed(context.Background(), c, tenancy.New(c), "test"); err != nil {
			t.Fatal(err)
		}
		sys := viewer.SystemContext(context.Background())
		acme := c.Tenant.Query().Where(tenant.Slug("acme")).OnlyX(sys)
		globex := c.Tenant.Query().Where(tenant.Slug("globex")).OnlyX(sys)
		northwind := c.Partner.Query().Where(partner.Slug("northwind")).OnlyX(sys)
		as := func(subject string) context.Context {
			return viewer.NewContext(context.Background(), viewerFor(t, c, subject, false))
		}
		create := func(ctx context.Context, tn *ent.Tenant) error {
			_, err := c.SecurityPolicy.Create().SetTenantID(tn.ID).Save(ctx)
			return err
		}
		// Creating: the tenant's admin and its partner's staff only.
		for _, tc := range []struct {
			subject string
			tenant  *ent.Tenant
			ok      bool
		}{
			{"demo-acme-member", acme, false},
			{"demo-globex-admin", acme, false},
			{"demo-northwind-staff", globex, false},
			{"demo-acme-admin", acme, true},
			{"demo-northwind-staff", acme, false}, // acme has its row now: unique
			{"demo-globex-admin", globex, true},
		} {
			err := create(as(tc.subject), tc.tenant)
			if (err == nil) != tc.ok {
				t.Errorf("%s creates a policy for %s: err %v, want ok=%v", tc.subject, tc.tenant.Slug, err, tc.ok)
			}
		}
		// Reading: admins and the partner's staff see their tenants' rows.
		for subject, want := range map[string]int{"demo-acme-admin": 1, "demo-acme-member": 0, "demo-northwind-staff": 1, "demo-globex-admin": 1} {
			if n := c.SecurityPolicy.Query().CountX(as(subject)); n != want {
				t.Errorf("%s sees %d policies, want %d", subject, n, want)
			}
		}
		// Changing and deleting match only rows within reach.
		for subject, want := range map[string]int{"demo-globex-admin": 0, "demo-acme-member": 0, "demo-northwind-staff": 1} {
			n, err := c.SecurityPolicy.Update().Where(securitypolicy.TenantID(acme.ID)).SetSessionIdleMinutes(30).Save(as(subject))
			if (err == nil && n != want) || (err != nil && want != 0) {
				t.Errorf("%s changes acme's policy: %d rows, %v; want %d", subject, n, err, want)
			}
		}
		if n, err := c.SecurityPolicy.Delete().Where(securitypolicy.TenantID(acme.ID)).Exec(as("demo-globex-admin")); err == nil && n != 0 {
			t.Errorf("globex admin deleted %d of acme's policies", n)
		}
		// Partner settings: the partner's staff only.
		if _, err := c.PartnerSettings.Create().SetPartnerID(northwind.ID).Save(as("demo-acme-admin")); err == nil {
			t.Error("a tenant admin created partner settings")
		}
		if _, err := c.PartnerSettings.Create().SetPartnerID(northwind.ID).Save(as("demo-northwind-staff")); err != nil {
			t.Errorf("partner staff create their settings: %v", err)
		}
		if n := c.PartnerSettings.Query().CountX(as("demo-acme-admin")); n != 0 {
			t.Errorf("a tenant admin sees %d partner settings", n)
		}
		if n := c.PartnerSettings.Query().CountX(as("demo-northwind-staff")); n != 1 {
			t.Errorf("partner staff see %d partner settings, want 1", n)
		}
	})
}
