package ingest

import (
	"context"
	"fmt"
	"strings"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/maildomain"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/domainname"
	"github.com/dezky/platform/internal/provisioning"
)

// resolver infers tenants and actors for one tick (or one webhook
// request). It loads the tenants once and caches user lookups.
type resolver struct {
	client  *ent.Client
	loaded  bool
	tenants []*ent.Tenant
	byID    map[int]*ent.Tenant
	spaces  map[string]*ent.Tenant // storage space id → tenant
	users   map[string]*actor      // upstream user name → platform user
}

// actor is a platform user matched to an upstream user name.
type actor struct {
	email  string
	tenant *ent.Tenant // first membership, nil when none
}

func newResolver(c *ent.Client) *resolver {
	return &resolver{client: c, users: map[string]*actor{}}
}

func (r *resolver) load(ctx context.Context) error {
	if r.loaded {
		return nil
	}
	ctx = system(ctx)
	ts, err := r.client.Tenant.Query().Order(ent.Asc("id")).All(ctx)
	if err != nil {
		return fmt.Errorf("ingest: load tenants: %w", err)
	}
	states, err := r.client.ProvisioningState.Query().
		Where(provisioningstate.IntegrationEQ(provisioningstate.IntegrationStorage)).All(ctx)
	if err != nil {
		return fmt.Errorf("ingest: load storage provisioning: %w", err)
	}
	r.tenants, r.byID, r.spaces = ts, map[int]*ent.Tenant{}, map[string]*ent.Tenant{}
	for _, t := range ts {
		r.byID[t.ID] = t
	}
	for _, s := range states {
		if id := s.External["space_id"]; id != "" && r.byID[s.TenantID] != nil {
			r.spaces[id] = r.byID[s.TenantID]
		}
	}
	r.loaded = true
	return nil
}

// byGroup returns the tenant whose identity group is named name.
func (r *resolver) byGroup(ctx context.Context, name string) (*ent.Tenant, error) {
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	for _, t := range r.tenants {
		if provisioning.GroupName(t.Slug) == name {
			return t, nil
		}
	}
	return nil, nil
}

// byDomain returns the tenant owning the mail domain d: the tenant that
// verified it (it keeps it while its records are FAILING). Pending claims
// and the tenants' free-form domains lists attribute nothing: anybody may
// claim or list any name.
func (r *resolver) byDomain(ctx context.Context, d string) (*ent.Tenant, error) {
	if d == "" {
		return nil, nil
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	// The same normal form the mail domains are stored in; a name that
	// is not a domain is nobody's.
	name, err := domainname.Normalize("domain", d)
	if err != nil || name == "" {
		return nil, nil
	}
	owned, err := r.client.MailDomain.Query().
		Where(maildomain.Name(name), maildomain.VerifiedAtNotNil()).Only(system(ctx))
	switch {
	case ent.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("ingest: look up verified domain: %w", err)
	}
	return r.byID[owned.TenantID], nil
}

// bySpace returns the tenant of a storage space, by the space id recorded
// by provisioning or by the space name (the slug or
// provisioning.SpaceName).
func (r *resolver) bySpace(ctx context.Context, spaceID, name string) (*ent.Tenant, error) {
	if spaceID == "" && name == "" {
		return nil, nil
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	if t := r.spaces[spaceID]; spaceID != "" && t != nil {
		return t, nil
	}
	if name == "" {
		return nil, nil
	}
	for _, t := range r.tenants {
		if t.Slug == name || provisioning.SpaceName(t) == name {
			return t, nil
		}
	}
	return nil, nil
}

// user matches an upstream user name to a platform user by e-mail or OIDC
// subject; nil when none matches.
func (r *resolver) user(ctx context.Context, name string) (*actor, error) {
	if name == "" {
		return nil, nil
	}
	if a, ok := r.users[name]; ok {
		return a, nil
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	ctx = system(ctx)
	u, err := r.client.User.Query().
		Where(user.Or(user.SubjectEQ(name), user.EmailEqualFold(name))).
		Order(ent.Asc(user.FieldID)).First(ctx)
	if ent.IsNotFound(err) {
		r.users[name] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: look up user %q: %w", name, err)
	}
	a := &actor{email: u.Email}
	m, err := r.client.Membership.Query().Where(membership.UserID(u.ID)).
		Order(ent.Asc(membership.FieldTenantID)).First(ctx)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("ingest: look up memberships of %q: %w", name, err)
	default:
		a.tenant = r.byID[m.TenantID]
	}
	r.users[name] = a
	return a, nil
}

// emailOf returns the actor e-mail for an upstream user name: the matched
// platform user's, else the name itself when it is an address.
func emailOf(a *actor, name string) string {
	if a != nil && a.email != "" {
		return a.email
	}
	if strings.Contains(name, "@") {
		return strings.ToLower(name)
	}
	return ""
}
