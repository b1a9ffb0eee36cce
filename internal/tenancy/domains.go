package tenancy

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/rule"
)

// domainsLockKey names the PostgreSQL advisory lock that serialises domain
// claims, so two transactions cannot both find a domain free and take it.
// SQLite transactions are serialised already (immediate locking).
const domainsLockKey = "dezky.tenant.domains"

// claimDomains makes sure no other (not deleted) tenant holds any of
// domains: a domain belongs to at most one tenant. It must run inside the
// transaction that then writes the domains; self is the claiming tenant (0
// when it is being created). A claim of a domain held elsewhere is a
// CONFLICT that does not say which tenant holds it.
func claimDomains(ctx context.Context, c *ent.Client, self int, domains []string) error {
	if len(domains) == 0 {
		return nil
	}
	// Other tenants are invisible to the caller; this check must see them.
	sys := rule.Bypass(ctx)
	var name string
	if _, err := c.Tenant.Query().Where(func(s *sql.Selector) {
		name = s.Dialect()
		s.Where(sql.False())
	}).Exist(sys); err != nil {
		return fmt.Errorf("claim domains: %w", err)
	}
	if name == dialect.Postgres {
		if _, err := c.ExecContext(sys, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, domainsLockKey); err != nil {
			return fmt.Errorf("claim domains: lock: %w", err)
		}
	}
	for _, d := range domains {
		taken, err := c.Tenant.Query().Where(
			tenant.IDNEQ(self),
			tenant.StatusNEQ(tenant.StatusDeleted),
			func(s *sql.Selector) { s.Where(sqljson.ValueContains(tenant.FieldDomains, d)) },
		).Exist(sys)
		if err != nil {
			return fmt.Errorf("claim domains: %w", err)
		}
		if taken {
			return apperr.Conflictf("domain %q already belongs to another tenant", d)
		}
	}
	return nil
}
