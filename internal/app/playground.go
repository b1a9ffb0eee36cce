package app

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/authn/devissuer"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/web/playground"
)

// DevSignInPath is where the development sign-in endpoint (the
// playground's persona picker) is served, only with the embedded
// development issuer.
const DevSignInPath = DevIssuerPath + "/signin"

// maxPersonaUsers bounds how many users the persona list looks at.
const maxPersonaUsers = 500

// personaDirectory offers the database's users as the personas of the
// development sign-in: the same specs `dezky token --as` takes.
type personaDirectory struct {
	client *ent.Client
}

var personaKinds = map[string]int{"operator": 0, "partner": 1, "admin": 2, "member": 3}

// Personas lists one persona per spec (operator, partner:<slug>,
// admin:<tenant>, member:<tenant>), each the user MintFor picks for it.
func (d personaDirectory) Personas(ctx context.Context) ([]devissuer.Persona, error) {
	ctx = viewer.SystemContext(ctx)
	users, err := d.client.User.Query().Where(user.Active(true)).
		WithPartner().
		WithMemberships(func(q *ent.MembershipQuery) { q.WithTenant() }).
		Order(ent.Asc(user.FieldID)).Limit(maxPersonaUsers).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("personas: %w", err)
	}
	seen := map[string]bool{}
	var out []devissuer.Persona
	add := func(as, label, email string) {
		if !seen[as] {
			seen[as] = true
			out = append(out, devissuer.Persona{As: as, Label: label, Email: email})
		}
	}
	for _, u := range users {
		if u.PlatformAdmin {
			add("operator", "Operator", u.Email)
		}
		if p := u.Edges.Partner; p != nil {
			add("partner:"+p.Slug, "Partner staff of "+p.Slug, u.Email)
		}
		for _, m := range u.Edges.Memberships {
			t := m.Edges.Tenant
			if t == nil {
				continue
			}
			if m.Role == membership.RoleAdmin {
				add("admin:"+t.Slug, "Tenant admin of "+t.Slug, u.Email)
			} else {
				add("member:"+t.Slug, "Member of "+t.Slug, u.Email)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ki, _, _ := strings.Cut(out[i].As, ":")
		kj, _, _ := strings.Cut(out[j].As, ":")
		if personaKinds[ki] != personaKinds[kj] {
			return personaKinds[ki] < personaKinds[kj]
		}
		return out[i].As < out[j].As
	})
	return out, nil
}

// Claims returns the token claims for the persona as (one Personas lists).
func (d personaDirectory) Claims(ctx context.Context, as string) (devissuer.MintClaims, devissuer.Persona, error) {
	ps, err := d.Personas(ctx)
	if err != nil {
		return devissuer.MintClaims{}, devissuer.Persona{}, err
	}
	var p *devissuer.Persona
	for i := range ps {
		if ps[i].As == as {
			p = &ps[i]
		}
	}
	if p == nil {
		return devissuer.MintClaims{}, devissuer.Persona{}, fmt.Errorf("%w: %q", devissuer.ErrUnknownPersona, as)
	}
	u, aud, err := userFor(viewer.SystemContext(ctx), d.client, as)
	if err != nil {
		return devissuer.MintClaims{}, devissuer.Persona{}, err
	}
	return devissuer.MintClaims{Subject: u.Subject, Email: u.Email, Name: u.Name, Audience: []string{aud}}, *p, nil
}

// playgroundConfig configures the playground's sign-in: the persona picker
// with the development issuer, else an OIDC login against the first issuer
// when a public client id is configured, else none (tokens by hand).
func playgroundConfig(cfg *ServeConfig, dev bool) playground.Config {
	switch {
	case dev:
		return playground.Config{DevSignInPath: DevSignInPath}
	case cfg.PlaygroundClientID != "" && len(cfg.Issuers) > 0:
		return playground.Config{OIDC: &playground.OIDC{Issuer: cfg.Issuers[0], ClientID: cfg.PlaygroundClientID, Scopes: cfg.PlaygroundScopes}}
	default:
		return playground.Config{}
	}
}
