package sdk

import (
	"context"
	"time"
)

// Identity drives an identity provider (users, groups, sessions, OIDC
// applications and the audit event feed).
//
// Contract, checked by conformance.RunIdentity:
//   - EnsureGroup, CreateUser and CreateOIDCApp are idempotent: calling them
//     again with the same key (group name, username, app slug) returns the
//     existing object with the same ID and no error.
//   - CreateOIDCApp with an existing slug bound to a different group fails
//     with CONFLICT. The client secret is returned only by the call that
//     created the app; later ensures return an empty ClientSecret.
//   - GetUser, UpdateUser, SetPassword, RecoveryLink, TerminateSessions,
//     CountAuthenticators and the group-member calls fail with NOT_FOUND for
//     an unknown user or group. DeleteUser and DeleteOIDCApp fail with
//     NOT_FOUND when the object does not exist.
//   - Empty required fields fail with INVALID.
//   - UpdateUser merges Attributes into the stored attributes
//     (read-modify-write) and deletes the keys in RemoveAttributes; fields
//     left nil are unchanged.
//   - RecoveryLink soft-fails: when the upstream has no recovery flow it
//     returns OK=false with a Reason and no error.
type Identity interface {
	EnsureGroup(ctx context.Context, req EnsureGroupRequest) (Group, error)
	CreateUser(ctx context.Context, req CreateUserRequest) (User, error)
	GetUser(ctx context.Context, userID string) (User, error)
	UpdateUser(ctx context.Context, req UpdateUserRequest) (User, error)
	DeleteUser(ctx context.Context, userID string) error
	SetPassword(ctx context.Context, req SetPasswordRequest) error
	RecoveryLink(ctx context.Context, userID string) (RecoveryLink, error)
	AddGroupMember(ctx context.Context, groupID, userID string) error
	RemoveGroupMember(ctx context.Context, groupID, userID string) error
	// TerminateSessions ends every session of one user and returns how
	// many were ended.
	TerminateSessions(ctx context.Context, userID string) (int, error)
	CountAuthenticators(ctx context.Context, userID string) (AuthenticatorCount, error)
	CreateOIDCApp(ctx context.Context, req CreateOIDCAppRequest) (OIDCApp, error)
	DeleteOIDCApp(ctx context.Context, appID string) error
	EnsureRecoveryFlow(ctx context.Context) (RecoveryFlow, error)
	// ListEvents returns events after Cursor (empty: from the beginning),
	// oldest first, at most Limit of them. NextCursor resumes after the
	// last returned event; it equals the request cursor when no events
	// were returned.
	ListEvents(ctx context.Context, req ListEventsRequest) (EventPage, error)
}

// EnsureGroupRequest names a group; Name is the idempotency key.
type EnsureGroupRequest struct {
	Name       string
	Attributes map[string]string
}

// Group is an identity group.
type Group struct {
	ID         string
	Name       string
	Attributes map[string]string
}

// CreateUserRequest creates a user; Username is the idempotency key.
type CreateUserRequest struct {
	Username   string
	Name       string
	Email      string
	Active     bool
	Attributes map[string]string
	// GroupIDs the user is added to on creation.
	GroupIDs []string
}

// User is an identity user.
type User struct {
	ID         string
	Username   string
	Name       string
	Email      string
	Active     bool
	Attributes map[string]string
	GroupIDs   []string
}

// UpdateUserRequest changes a user. Nil fields are left unchanged.
type UpdateUserRequest struct {
	ID               string
	Name             *string
	Email            *string
	Active           *bool
	Attributes       map[string]string
	RemoveAttributes []string
}

// SetPasswordRequest sets a user's password. Expired forces a change at the
// next login where the upstream supports it.
type SetPasswordRequest struct {
	UserID   string
	Password string
	Expired  bool
}

// RecoveryLink is a one-time password recovery link. OK is false (with a
// Reason) when the upstream has no recovery flow configured. ExpiresAt is
// when the link stops working, zero when the provider does not know
// (plugins built before the field existed leave it zero).
type RecoveryLink struct {
	OK        bool
	URL       string
	Reason    string
	ExpiresAt time.Time
}

// AuthenticatorCount reports a user's enrolled authenticators (MFA status).
// ByType counts per upstream device type (for example "totp", "webauthn").
type AuthenticatorCount struct {
	Total  int
	ByType map[string]int
}

// CreateOIDCAppRequest creates an OIDC provider plus application that only
// members of GroupID may use. Slug is the idempotency key. A provider rolls
// back what it created when a later step fails.
type CreateOIDCAppRequest struct {
	Slug         string
	Name         string
	GroupID      string
	RedirectURIs []string
	LaunchURL    string
}

// OIDCApp is an OIDC application. ClientSecret is set only in the response
// of the call that created the app and is never stored by the host.
type OIDCApp struct {
	ID           string
	Slug         string
	Name         string
	GroupID      string
	ClientID     string
	ClientSecret string
	IssuerURL    string
}

// RecoveryFlow identifies the upstream password recovery flow.
type RecoveryFlow struct {
	ID      string
	Slug    string
	Created bool
}

// ListEventsRequest pages through the identity audit feed.
type ListEventsRequest struct {
	Cursor string
	Limit  int
}

// EventPage is one page of identity events.
type EventPage struct {
	Events     []IdentityEvent
	NextCursor string
}

// IdentityEvent is one upstream audit event. ID is stable and unique per
// provider (the host deduplicates on it). Action is the upstream's raw
// action name.
type IdentityEvent struct {
	ID         string
	Action     string
	Actor      string
	ClientIP   string
	Time       time.Time
	Attributes map[string]string
}
