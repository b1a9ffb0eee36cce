package tenancy

import (
	"context"
	"slices"
	"strconv"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/maildomain"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/domainname"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/rule"
)

// normalizeDomain returns the normal form of one domain name (see
// domainname.Normalize); "" stays "".
func normalizeDomain(d string) (string, error) { return domainname.Normalize("domains", d) }

// normalizeDomains normalises (see normalizeDomain), drops blanks and
// de-duplicates domain names, rejecting anything that is not a hostname,
// public mail providers' domains and more than inputcheck.MaxDomains
// entries.
func normalizeDomains(in []string) ([]string, error) {
	if len(in) > inputcheck.MaxDomains {
		return nil, apperr.Invalid("domains", "at most %d domains", inputcheck.MaxDomains)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for _, d := range in {
		n, err := normalizeDomain(d)
		if err != nil {
			return nil, err
		}
		if n != "" && domainname.Consumer(n) {
			return nil, apperr.Invalid("domains", "%q is a public mail provider's domain", n)
		}
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// ErrDomainTaken is the answer to a claim on a domain another tenant has
// verified (d, or "" when a concurrent verification won and the domain is
// not known); it never says which tenant.
func ErrDomainTaken(field, d string, cause error) *apperr.Error {
	msg := "a domain in the list is verified by another tenant"
	if d != "" {
		msg = "domain " + strconv.Quote(d) + " is verified by another tenant"
	}
	return &apperr.Error{Code: apperr.Conflict, Field: field, Message: msg, Err: cause}
}

// OwnedElsewhere returns those of names that a tenant other than tenantID
// owns (has verified; see ent/schema.MailDomain).
func OwnedElsewhere(ctx context.Context, c *ent.Client, tenantID int, names ...string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	// Ownership is decided across tenants: the caller must learn that a
	// name is taken, never by whom (only names are read).
	return c.MailDomain.Query().
		Where(maildomain.NameIn(names...), maildomain.TenantIDNEQ(tenantID), maildomain.VerifiedAtNotNil()).
		Select(maildomain.FieldName).Strings(rule.Bypass(ctx))
}

// claimDomains turns tenantID's domains list (normalised) into its mail
// domains, inside the caller's transaction: a listed name the tenant does
// not have yet becomes a PENDING mail domain; an unlisted one that was
// never verified is dropped. A name another tenant has verified is
// CONFLICT, and so is unlisting a domain this tenant has verified (remove
// it with removeMailDomain, which checks that nothing uses it). Pending
// claims of other tenants block nothing.
func claimDomains(ctx context.Context, c *ent.Client, tenantID int, domains []string) error {
	taken, err := OwnedElsewhere(ctx, c, tenantID, domains...)
	if err != nil {
		return err
	}
	if len(taken) > 0 {
		return ErrDomainTaken("domains", taken[0], nil)
	}
	// The caller has been allowed to change this tenant's domains; the
	// mail domain rows follow from that change.
	bctx := rule.Bypass(ctx)
	mine, err := c.MailDomain.Query().Where(maildomain.TenantID(tenantID)).All(bctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	var drop []int
	for _, d := range mine {
		have[d.Name] = true
		if slices.Contains(domains, d.Name) {
			continue
		}
		if d.VerifiedAt != nil {
			return apperr.Conflictf("domain %q is verified: remove it with removeMailDomain", d.Name)
		}
		drop = append(drop, d.ID)
	}
	if len(drop) > 0 {
		if _, err := c.MailDomain.Delete().Where(maildomain.IDIn(drop...)).Exec(bctx); err != nil {
			return err
		}
	}
	hasPrimary := false
	for _, d := range mine {
		hasPrimary = hasPrimary || (d.Primary && slices.Contains(domains, d.Name))
	}
	var creates []*ent.MailDomainCreate
	for _, d := range domains {
		if !have[d] {
			// The first listed domain is the primary one when the tenant
			// has none.
			creates = append(creates, c.MailDomain.Create().SetName(d).SetTenantID(tenantID).
				SetOwnershipToken(domainname.NewToken()).SetPrimary(!hasPrimary))
			hasPrimary = true
		}
	}
	if len(creates) == 0 {
		return nil
	}
	if _, err := c.MailDomain.CreateBulk(creates...).Save(bctx); err != nil {
		if db.IsUniqueViolation(err) {
			return apperr.Conflictf("the tenant's domains changed concurrently; try again")
		}
		return err
	}
	return nil
}

// releaseDomains drops every mail domain of tenantID (a deleted tenant's
// domains become free to verify by others).
func releaseDomains(ctx context.Context, c *ent.Client, tenantID int) error {
	_, err := c.MailDomain.Delete().Where(maildomain.TenantID(tenantID)).Exec(rule.Bypass(ctx))
	return err
}
