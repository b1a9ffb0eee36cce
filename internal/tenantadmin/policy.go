package tenantadmin

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/securitypolicy"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/tenancy"
)

// Limits of a security policy.
const (
	MinIdleMinutes   = 5
	MaxIdleMinutes   = 24 * 60
	MinSessionHours  = 1
	MaxSessionHours  = 24 * 30
	MaxAllowlist     = 100
	DefaultIdle      = 60
	DefaultMaxHours  = 12
	defaultMfaMode   = MfaOptional
	maxCountryInputs = 250
)

// SecurityPolicy is a tenant's security policy as the API shows it.
type SecurityPolicy struct {
	MfaMode            MfaMode
	SessionIdleMinutes int
	SessionMaxHours    int
	AllowedCountries   []string
	IPAllowlist        []string
	Enforcement        []*PolicyEnforcement
	// UpdatedAt is nil while the tenant has the defaults.
	UpdatedAt *time.Time
}

// PolicyEnforcement says how one setting takes effect.
type PolicyEnforcement struct {
	Setting SecuritySetting
	Status  EnforcementStatus
	Reason  string
}

// UpdateSecurityPolicyInput changes a policy; nil fields are left.
type UpdateSecurityPolicyInput struct {
	MfaMode            *MfaMode
	SessionIdleMinutes *int
	SessionMaxHours    *int
	AllowedCountries   []string
	IPAllowlist        []string
}

// SecurityPolicy returns t's policy (the defaults when it has none).
func (s *Service) SecurityPolicy(ctx context.Context, t *ent.Tenant) (*SecurityPolicy, error) {
	if err := requireAdmin(ctx, t); err != nil {
		return nil, err
	}
	row, err := s.client(ctx).SecurityPolicy.Query().Where(securitypolicy.TenantID(t.ID)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, fmt.Errorf("tenantadmin: security policy of %s: %w", t.Slug, err)
	}
	return s.policyView(row), nil
}

// policyView renders a row (nil: the defaults) with its enforcement.
func (s *Service) policyView(row *ent.SecurityPolicy) *SecurityPolicy {
	p := &SecurityPolicy{MfaMode: defaultMfaMode, SessionIdleMinutes: DefaultIdle, SessionMaxHours: DefaultMaxHours,
		AllowedCountries: []string{}, IPAllowlist: []string{}}
	if row != nil {
		p.MfaMode, p.SessionIdleMinutes, p.SessionMaxHours = MfaMode(row.MfaMode), row.SessionIdleMinutes, row.SessionMaxHours
		p.AllowedCountries, p.IPAllowlist = row.AllowedCountries, row.IPAllowlist
		at := row.UpdatedAt
		p.UpdatedAt = &at
	}
	p.Enforcement = s.enforcement(p)
	return p
}

// enforcement reports, per setting, that the policy is recorded and why
// the identity provider does not enforce it. The identity plugin protocol
// has no call that scopes an authentication rule to one tenant: at
// Authentik the authenticator validation stage, the session duration and
// the network checks belong to the authentication flow every tenant shares,
// so pushing one tenant's setting there would change every tenant's
// sign-in. The reasons say so plainly rather than claim enforcement.
func (s *Service) enforcement(p *SecurityPolicy) []*PolicyEnforcement {
	idp := s.identityConfigured()
	reason := func(what string) string {
		if !idp {
			return "recorded only: no identity provider is configured"
		}
		return "recorded only: " + what
	}
	shared := "the identity provider's authentication flow is shared by every tenant, and the identity plugin protocol has no per-tenant call for this setting"
	return []*PolicyEnforcement{
		{Setting: SettingMfaMode, Status: Recorded, Reason: reason(shared + " (the authenticator validation stage would apply to all tenants)")},
		{Setting: SettingSessionIdleMinutes, Status: Recorded, Reason: reason(shared + " (session lifetime is set on the shared login stage)")},
		{Setting: SettingSessionMaxHours, Status: Recorded, Reason: reason(shared + " (session lifetime is set on the shared login stage)")},
		{Setting: SettingAllowedCountries, Status: Recorded, Reason: reason(shared + " (a GeoIP policy would have to be bound to the shared flow)")},
		{Setting: SettingIPAllowlist, Status: Recorded, Reason: reason(shared + " (a network policy would have to be bound to the shared flow)")},
	}
}

// identityConfigured reports whether an identity plugin is bound.
func (s *Service) identityConfigured() bool {
	if s.cfg.Providers == nil {
		return false
	}
	_, err := s.cfg.Providers.Identity()
	return err == nil
}

// UpdateSecurityPolicy validates in and changes the policy of the tenant
// slug, audited with a diff, in ctx's transaction.
func (s *Service) UpdateSecurityPolicy(ctx context.Context, slug string, in UpdateSecurityPolicyInput) (*SecurityPolicy, error) {
	var out *SecurityPolicy
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		t, err := s.tenantFor(ctx, slug)
		if err != nil {
			return err
		}
		if err := tenancy.Writable(t); err != nil {
			return err
		}
		c := ent.FromContext(ctx)
		row, err := c.SecurityPolicy.Query().Where(securitypolicy.TenantID(t.ID)).Only(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return err
		}
		before := s.policyView(row)
		after, err := applyPolicy(*before, in)
		if err != nil {
			return err
		}
		if row == nil {
			row, err = c.SecurityPolicy.Create().SetTenantID(t.ID).SetMfaMode(securitypolicy.MfaMode(after.MfaMode)).
				SetSessionIdleMinutes(after.SessionIdleMinutes).SetSessionMaxHours(after.SessionMaxHours).
				SetAllowedCountries(after.AllowedCountries).SetIPAllowlist(after.IPAllowlist).Save(ctx)
		} else {
			row, err = c.SecurityPolicy.UpdateOne(row).SetMfaMode(securitypolicy.MfaMode(after.MfaMode)).
				SetSessionIdleMinutes(after.SessionIdleMinutes).SetSessionMaxHours(after.SessionMaxHours).
				SetAllowedCountries(after.AllowedCountries).SetIPAllowlist(after.IPAllowlist).Save(ctx)
		}
		if err != nil {
			return apperr.About(err, "security policy")
		}
		out = s.policyView(row)
		return audit.Record(ctx, audit.Event{
			Action: "tenant.security_policy_updated", ResourceType: "security_policy", ResourceID: strconv.Itoa(row.ID),
			ResourceName: t.Slug, Tenant: t,
			Metadata: map[string]any{"diff": audit.Diff(policyFields(before), policyFields(out))},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "security policy")
	}
	return out, nil
}

// applyPolicy validates in against p and returns the changed policy.
func applyPolicy(p SecurityPolicy, in UpdateSecurityPolicyInput) (SecurityPolicy, error) {
	if in.MfaMode != nil {
		p.MfaMode = *in.MfaMode
	}
	if in.SessionIdleMinutes != nil {
		if v := *in.SessionIdleMinutes; v < MinIdleMinutes || v > MaxIdleMinutes {
			return p, apperr.Invalid("sessionIdleMinutes", "must be %d to %d minutes", MinIdleMinutes, MaxIdleMinutes)
		}
		p.SessionIdleMinutes = *in.SessionIdleMinutes
	}
	if in.SessionMaxHours != nil {
		if v := *in.SessionMaxHours; v < MinSessionHours || v > MaxSessionHours {
			return p, apperr.Invalid("sessionMaxHours", "must be %d to %d hours", MinSessionHours, MaxSessionHours)
		}
		p.SessionMaxHours = *in.SessionMaxHours
	}
	if p.SessionIdleMinutes > p.SessionMaxHours*60 {
		field := "sessionIdleMinutes"
		if in.SessionIdleMinutes == nil {
			field = "sessionMaxHours"
		}
		return p, apperr.Invalid(field, "the idle timeout (%d minutes) must not exceed the session length (%d hours)",
			p.SessionIdleMinutes, p.SessionMaxHours)
	}
	if in.AllowedCountries != nil {
		cs, err := ParseCountries(in.AllowedCountries)
		if err != nil {
			return p, apperr.Invalid("allowedCountries", "%v", err)
		}
		p.AllowedCountries = cs
	}
	if in.IPAllowlist != nil {
		ps, err := ParseAllowlist(in.IPAllowlist)
		if err != nil {
			return p, apperr.Invalid("ipAllowlist", "%v", err)
		}
		p.IPAllowlist = ps
	}
	return p, nil
}

// ParseCountries upper-cases, checks (ISO 3166-1 alpha-2, officially
// assigned), de-duplicates and sorts country codes.
func ParseCountries(in []string) ([]string, error) {
	if len(in) > maxCountryInputs {
		return nil, fmt.Errorf("at most %d countries", maxCountryInputs)
	}
	out := make([]string, 0, len(in))
	for _, c := range in {
		code := strings.ToUpper(strings.TrimSpace(c))
		if !inputcheck.IsCountry(code) {
			return nil, fmt.Errorf("%q is not an ISO 3166-1 alpha-2 country code", c)
		}
		out = append(out, code)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ParseAllowlist parses IPv4 and IPv6 CIDR prefixes or single addresses
// (as /32 or /128) and returns them canonical, de-duplicated and sorted.
// A prefix with host bits set (10.0.0.1/8) is refused rather than
// silently widened or narrowed; so are zones and IPv4-mapped IPv6.
func ParseAllowlist(in []string) ([]string, error) {
	if len(in) > MaxAllowlist {
		return nil, fmt.Errorf("at most %d entries", MaxAllowlist)
	}
	seen := map[netip.Prefix]bool{}
	var ps []netip.Prefix
	for _, raw := range in {
		s := strings.TrimSpace(raw)
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				return nil, fmt.Errorf("%q is not a CIDR prefix", raw)
			}
			if p.Masked() != p {
				return nil, fmt.Errorf("%q has host bits set; did you mean %s?", raw, p.Masked())
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", raw)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			return nil, fmt.Errorf("%q is an IPv4-mapped IPv6 prefix; write the IPv4 prefix", raw)
		}
		if !seen[p] {
			seen[p] = true
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out, nil
}

// policyFields is the audited view of a policy.
func policyFields(p *SecurityPolicy) map[string]any {
	return map[string]any{
		"mfaMode":            string(p.MfaMode),
		"sessionIdleMinutes": p.SessionIdleMinutes,
		"sessionMaxHours":    p.SessionMaxHours,
		"allowedCountries":   p.AllowedCountries,
		"ipAllowlist":        p.IPAllowlist,
	}
}
