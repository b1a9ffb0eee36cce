package members

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/plugins/sdk"
)

// MFACacheTTL is how long an authenticator count read from the identity
// provider is reused.
const MFACacheTTL = time.Minute

// MFAStatus is a tenant's MFA overview.
type MFAStatus struct {
	// Total counts the tenant's members (not being removed).
	Total int
	// Enrolled counts the members known to have at least one authenticator.
	Enrolled int
	// Members lists each member, by e-mail.
	Members []MemberMFA
}

// MemberMFA is one member's enrolment. Enrolled and Authenticators are
// nil when unknown: no SSO user yet, or the identity provider did not
// answer.
type MemberMFA struct {
	Email          string
	Enrolled       *bool
	Authenticators *int
}

// mfaCache keeps authenticator counts by identity-provider user id.
type mfaCache struct {
	mu sync.Mutex
	m  map[string]mfaEntry
}

type mfaEntry struct {
	total int
	at    time.Time
}

var counts = &mfaCache{m: map[string]mfaEntry{}}

func (c *mfaCache) get(id string, now time.Time) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Sub(e.at) > MFACacheTTL {
		delete(c.m, id)
		return 0, false
	}
	return e.total, true
}

func (c *mfaCache) put(id string, total int, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[id] = mfaEntry{total: total, at: now}
}

// MFAStatus returns the MFA overview of a tenant from the identity
// provider's authenticator counts (cached for MFACacheTTL), over the
// members the viewer can see: the Membership privacy rules give the
// tenant's admins, its partner's staff and operators every member and a
// member only themself. A tenant the viewer cannot see is NOT_FOUND.
func (s *Service) MFAStatus(ctx context.Context, tenantSlug string) (*MFAStatus, error) {
	c := db.Client(ctx, s.client)
	t, err := c.Tenant.Query().Where(tenant.Slug(tenantSlug)).Only(ctx)
	if err != nil {
		return nil, apperr.About(err, "tenant")
	}
	ms, err := c.Membership.Query().
		Where(membership.TenantID(t.ID), membership.StatusNEQ(membership.StatusRemoving)).
		WithUser().All(ctx)
	if err != nil {
		return nil, apperr.About(err, "member")
	}
	idp, idpErr := s.identity()
	now := time.Now()
	out := &MFAStatus{Total: len(ms), Members: make([]MemberMFA, 0, len(ms))}
	for _, m := range ms {
		u := m.Edges.User
		if u == nil {
			continue
		}
		mm := MemberMFA{Email: u.Email}
		if n, ok := s.authenticators(ctx, idp, idpErr, u, now); ok {
			enrolled := n > 0
			mm.Enrolled, mm.Authenticators = &enrolled, &n
			if enrolled {
				out.Enrolled++
			}
		}
		out.Members = append(out.Members, mm)
	}
	sort.Slice(out.Members, func(i, j int) bool { return out.Members[i].Email < out.Members[j].Email })
	return out, nil
}

// authenticators returns the user's authenticator count, false when
// unknown.
func (s *Service) authenticators(ctx context.Context, idp sdk.Identity, idpErr error, u *ent.User, now time.Time) (int, bool) {
	if u.IdentityID == nil || idpErr != nil {
		return 0, false
	}
	if n, ok := counts.get(*u.IdentityID, now); ok {
		return n, true
	}
	n, err := idp.CountAuthenticators(ctx, *u.IdentityID)
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "members: count authenticators", "user", u.ID, "err", err)
		return 0, false
	}
	counts.put(*u.IdentityID, n.Total, now)
	return n.Total, true
}
