package tenancy

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/tenantdomain"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/rule"
)

// hostnamePattern is a normalised (lower-case ASCII) hostname with at
// least two labels; the top-level label is letters or an IDNA A-label.
var hostnamePattern = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$`)

// idnaProfile maps and validates names the way a resolver looks them up
// (UTS #46 mapping, lower-case), producing A-labels.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false))

// normalizeDomain returns the normal form of one domain name: trimmed,
// without the trailing dot, IDNA to ASCII, lower-case. "" stays "".
func normalizeDomain(d string) (string, error) {
	if err := inputcheck.Line(d); err != nil {
		return "", apperr.Invalid("domains", "%q is not a valid domain name: %v", d, err)
	}
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" {
		return "", nil
	}
	a, err := idnaProfile.ToASCII(d)
	if err != nil {
		return "", apperr.Invalid("domains", "%q is not a valid domain name", d)
	}
	a = strings.ToLower(a)
	if len(a) > 253 || !hostnamePattern.MatchString(a) {
		return "", apperr.Invalid("domains", "%q is not a valid domain name", d)
	}
	return a, nil
}

// normalizeDomains normalises (see normalizeDomain), drops blanks and
// de-duplicates domain names, rejecting anything that is not a hostname
// and more than inputcheck.MaxDomains entries.
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
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// errDomainTaken is the answer to a claim on a domain another tenant
// holds (d, or "" when a concurrent claim won and the domain is not
// known); it never says which tenant.
func errDomainTaken(d string, cause error) *apperr.Error {
	msg := "a domain in the list belongs to another tenant"
	if d != "" {
		msg = "domain " + strconv.Quote(d) + " belongs to another tenant"
	}
	return &apperr.Error{Code: apperr.Conflict, Field: "domains", Message: msg, Err: cause}
}

// claimDomains makes tenantID's domain claims exactly domains (normalised),
// inside the caller's transaction: claims no longer listed are released,
// new ones inserted. A domain another tenant holds is CONFLICT; the unique
// index on the claim's name decides a race between two claims.
func claimDomains(ctx context.Context, c *ent.Client, tenantID int, domains []string) error {
	// Claims are operator-only data; the caller has already been allowed
	// to change this tenant's domains.
	bctx := rule.Bypass(ctx)
	if _, err := c.TenantDomain.Delete().
		Where(tenantdomain.TenantID(tenantID), tenantdomain.NameNotIn(domains...)).Exec(bctx); err != nil {
		return err
	}
	if len(domains) == 0 {
		return nil
	}
	held, err := c.TenantDomain.Query().Where(tenantdomain.NameIn(domains...)).All(bctx)
	if err != nil {
		return err
	}
	mine := map[string]bool{}
	for _, h := range held {
		if h.TenantID != tenantID {
			return errDomainTaken(h.Name, nil)
		}
		mine[h.Name] = true
	}
	var creates []*ent.TenantDomainCreate
	for _, d := range domains {
		if !mine[d] {
			creates = append(creates, c.TenantDomain.Create().SetName(d).SetTenantID(tenantID))
		}
	}
	if len(creates) == 0 {
		return nil
	}
	if _, err := c.TenantDomain.CreateBulk(creates...).Save(bctx); err != nil {
		if db.IsUniqueViolation(err) {
			// A concurrent claim committed first.
			return errDomainTaken("", err)
		}
		return err
	}
	return nil
}

// releaseDomains drops every domain claim of tenantID (a deleted tenant's
// domains become free to claim).
func releaseDomains(ctx context.Context, c *ent.Client, tenantID int) error {
	_, err := c.TenantDomain.Delete().Where(tenantdomain.TenantID(tenantID)).Exec(rule.Bypass(ctx))
	return err
}
