package graph

import (
	"context"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/members"
)

// memberUser returns the member's user, loaded once per membership.
func memberUser(ctx context.Context, m *ent.Membership) (*ent.User, error) {
	if m.Edges.User != nil {
		return m.Edges.User, nil
	}
	u, err := m.QueryUser().Only(ctx)
	if err != nil {
		return nil, err
	}
	m.Edges.User = u
	return u, nil
}

// oneTime translates a credential; nil stays nil.
func oneTime(c *members.Credential) *OneTimeCredential {
	if c == nil {
		return nil
	}
	kind := CredentialKindOneTimePassword
	if c.Kind == members.RecoveryLink {
		kind = CredentialKindRecoveryLink
	}
	return &OneTimeCredential{Kind: kind, Value: c.Value, ExpiresAt: c.ExpiresAt}
}
