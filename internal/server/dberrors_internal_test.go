package server

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// TestFromDB maps real ent and driver errors from both databases to codes.
func TestFromDB(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := viewer.SystemContext(context.Background())
		c := d.Client
		if err := c.Tenant.Create().SetSlug("acme").SetName("Acme").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		_, notFound := c.Tenant.Query().Where(tenant.Slug("nope")).Only(ctx)
		dup := c.Tenant.Create().SetSlug("acme").SetName("Acme").Exec(ctx)
		danglingFK := c.Membership.Create().SetTenantID(1 << 40).SetUserID(1 << 40).Exec(ctx)
		_, denied := c.Tenant.Query().Count(context.Background())
		invalid := c.Tenant.Create().SetSlug("Not A Slug").SetName("x").Exec(ctx)

		for _, tc := range []struct {
			name    string
			err     error
			code    apperr.Code
			message string
		}{
			{"not found, labelled", apperr.About(notFound, "tenant"), apperr.NotFound, "tenant not found"},
			{"not found, unlabelled", notFound, apperr.NotFound, "object not found"},
			{"unique violation", apperr.About(dup, "tenant"), apperr.Conflict, "tenant already exists"},
			{"foreign key violation", danglingFK, apperr.BadUserInput, "invalid reference"},
			{"privacy denial", denied, apperr.Forbidden, "not allowed"},
			{"validation", invalid, apperr.BadUserInput, "invalid value for slug"},
			{"bad connection", fmt.Errorf("load user: %w", driver.ErrBadConn), apperr.Unavailable, unavailable(nil).Message},
			{"application error", apperr.Conflictf("taken"), apperr.Conflict, "taken"},
		} {
			ae, ok := fromDB(tc.err)
			if !ok {
				t.Errorf("%s: fromDB(%v) is not an application error", tc.name, tc.err)
				continue
			}
			if ae.Code != tc.code || ae.Message != tc.message {
				t.Errorf("%s: fromDB(%v) = %s %q, want %s %q", tc.name, tc.err, ae.Code, ae.Message, tc.code, tc.message)
			}
		}
		if ae, ok := fromDB(errors.New("boom")); ok {
			t.Errorf("fromDB(boom) = %v, want INTERNAL (not an application error)", ae)
		}
		if !errors.Is(denied, privacy.Deny) {
			t.Fatalf("query without viewer: %v, want privacy.Deny", denied)
		}
	})
}
