package authentikapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// User types accepted on create.
const (
	UserTypeInternal       = "internal"
	UserTypeExternal       = "external"
	UserTypeServiceAccount = "service_account"
)

// Attribute keys written by SetPassword when a password is marked expired.
const (
	AttrPasswordExpired   = "passwordExpired"
	AttrPasswordExpiredAt = "passwordExpiredAt"
)

// User is an authentik user (subset of fields).
type User struct {
	PK          int            `json:"pk"`
	UUID        string         `json:"uuid,omitempty"`
	UID         string         `json:"uid,omitempty"`
	Username    string         `json:"username"`
	Name        string         `json:"name"`
	Email       string         `json:"email"`
	IsActive    bool           `json:"is_active"`
	IsSuperuser bool           `json:"is_superuser"`
	Type        string         `json:"type,omitempty"`
	Path        string         `json:"path,omitempty"`
	Groups      []string       `json:"groups"`
	Attributes  map[string]any `json:"attributes"`
	DateJoined  *time.Time     `json:"date_joined,omitempty"`
	LastLogin   *time.Time     `json:"last_login,omitempty"`
}

// NewUser describes a user to create.
type NewUser struct {
	Username   string         `json:"username"`
	Name       string         `json:"name"`
	Email      string         `json:"email,omitempty"`
	IsActive   bool           `json:"is_active"`
	Type       string         `json:"type,omitempty"`
	Path       string         `json:"path,omitempty"`
	Groups     []string       `json:"groups,omitempty"` // group UUIDs
	Attributes map[string]any `json:"attributes,omitempty"`
}

// UserUpdate is a partial update. Nil fields are left unchanged. Attributes are
// merged into the existing dictionary (read-modify-write); a key mapped to nil is
// removed.
type UserUpdate struct {
	Name       *string
	Email      *string
	IsActive   *bool
	Attributes map[string]any
}

// CreateUser creates a user (POST core/users/ → 201). A duplicate username is
// reported as KindConflict.
func (c *Client) CreateUser(ctx context.Context, u NewUser) (User, error) {
	if u.Username == "" {
		return User{}, &Error{Op: "create user", Kind: KindInvalid, Message: "username is required"}
	}
	if u.Type == "" {
		u.Type = UserTypeInternal
	}
	var out User
	if err := c.do(ctx, "create user", http.MethodPost, "core/users/", nil, u, &out); err != nil {
		return User{}, err
	}
	return out, nil
}

// GetUser fetches a user by numeric pk.
func (c *Client) GetUser(ctx context.Context, pk int) (User, error) {
	var out User
	if err := c.do(ctx, "get user", http.MethodGet, userPath(pk), nil, nil, &out); err != nil {
		return User{}, err
	}
	return out, nil
}

// FindUsersByEmail returns all users whose email matches exactly (authentik does not
// enforce unique emails, so 0..n results are possible).
func (c *Client) FindUsersByEmail(ctx context.Context, email string) ([]User, error) {
	return listAll[User](ctx, c, "find users by email", "core/users/",
		url.Values{"email": {email}, "include_groups": {"false"}})
}

// FindUserByUsername returns the user with that exact username, or a KindNotFound error.
func (c *Client) FindUserByUsername(ctx context.Context, username string) (User, error) {
	users, err := listAll[User](ctx, c, "find user by username", "core/users/",
		url.Values{"username": {username}, "include_groups": {"false"}})
	if err != nil {
		return User{}, err
	}
	for _, u := range users {
		if u.Username == username {
			return u, nil
		}
	}
	return User{}, &Error{Op: "find user by username", Kind: KindNotFound, Message: "no such user"}
}

// UpdateUser applies a partial update. Attribute changes are merged into the current
// attributes read from the server first, because authentik replaces the dictionary.
func (c *Client) UpdateUser(ctx context.Context, pk int, upd UserUpdate) (User, error) {
	body := map[string]any{}
	if upd.Name != nil {
		body["name"] = *upd.Name
	}
	if upd.Email != nil {
		body["email"] = *upd.Email
	}
	if upd.IsActive != nil {
		body["is_active"] = *upd.IsActive
	}
	if len(upd.Attributes) > 0 {
		cur, err := c.GetUser(ctx, pk)
		if err != nil {
			return User{}, fmt.Errorf("authentik: update user: read attributes: %w", err)
		}
		body["attributes"] = MergeAttributes(cur.Attributes, upd.Attributes)
	}
	if len(body) == 0 {
		return c.GetUser(ctx, pk)
	}
	var out User
	if err := c.do(ctx, "update user", http.MethodPatch, userPath(pk), nil, body, &out); err != nil {
		return User{}, err
	}
	return out, nil
}

// MergeAttributes returns a copy of cur with patch applied: keys mapped to nil are
// removed, nested objects are merged recursively, everything else is replaced.
func MergeAttributes(cur, patch map[string]any) map[string]any {
	out := make(map[string]any, len(cur)+len(patch))
	for k, v := range cur {
		out[k] = v
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
			continue
		}
		pm, pok := v.(map[string]any)
		cm, cok := out[k].(map[string]any)
		if pok && cok {
			out[k] = MergeAttributes(cm, pm)
			continue
		}
		out[k] = v
	}
	return out
}

// DeleteUser deletes a user (204). A missing user is KindNotFound.
func (c *Client) DeleteUser(ctx context.Context, pk int) error {
	return c.do(ctx, "delete user", http.MethodDelete, userPath(pk), nil, nil, nil)
}

// SetPassword sets a user's password (204). When expire is true the password is
// marked expired through the passwordExpired/passwordExpiredAt attributes (merged,
// never clobbering other attributes) so the login flow forces a change; when false,
// any previous expiry marker is removed.
func (c *Client) SetPassword(ctx context.Context, pk int, password string, expire bool) error {
	if password == "" {
		return &Error{Op: "set password", Kind: KindInvalid, Message: "empty password"}
	}
	if err := c.do(ctx, "set password", http.MethodPost, userPath(pk)+"set_password/", nil,
		map[string]string{"password": password}, nil); err != nil {
		return err
	}
	if expire {
		_, err := c.UpdateUser(ctx, pk, UserUpdate{Attributes: map[string]any{
			AttrPasswordExpired:   true,
			AttrPasswordExpiredAt: c.now().UTC().Format(time.RFC3339),
		}})
		if err != nil {
			return fmt.Errorf("authentik: mark password expired: %w", err)
		}
		return nil
	}
	cur, err := c.GetUser(ctx, pk)
	if err != nil {
		return fmt.Errorf("authentik: clear password expiry: %w", err)
	}
	_, has1 := cur.Attributes[AttrPasswordExpired]
	_, has2 := cur.Attributes[AttrPasswordExpiredAt]
	if !has1 && !has2 {
		return nil
	}
	body := map[string]any{"attributes": MergeAttributes(cur.Attributes,
		map[string]any{AttrPasswordExpired: nil, AttrPasswordExpiredAt: nil})}
	if err := c.do(ctx, "clear password expiry", http.MethodPatch, userPath(pk), nil, body, nil); err != nil {
		return err
	}
	return nil
}

// RecoveryLink asks authentik for a password-recovery link. When the brand has no
// recovery flow, or the flow is not applicable to the user, it soft-fails:
// ok is false and err is nil, so the caller can fall back to a temporary password.
// tokenDuration uses authentik's "days=1;hours=2" syntax; empty keeps the default.
func (c *Client) RecoveryLink(ctx context.Context, pk int, tokenDuration string) (link string, ok bool, err error) {
	var body any
	if tokenDuration != "" {
		body = map[string]string{"token_duration": tokenDuration}
	}
	var out struct {
		Link string `json:"link"`
	}
	err = c.do(ctx, "recovery link", http.MethodPost, userPath(pk)+"recovery/", nil, body, &out)
	if err != nil {
		if IsNoRecoveryFlow(err) {
			c.log.InfoContext(ctx, "authentik recovery link unavailable", "user_pk", pk, "reason", KindOf(err).String())
			return "", false, nil
		}
		return "", false, err
	}
	if out.Link == "" {
		return "", false, &Error{Op: "recovery link", Kind: KindUnavailable, Message: "empty link in response"}
	}
	return out.Link, true, nil
}

// IsNoRecoveryFlow reports whether err is authentik's answer for "the brand has no
// usable recovery flow" (400 with a non_field_errors string).
func IsNoRecoveryFlow(err error) bool {
	var e *Error
	if !asError(err, &e) || e.Status != http.StatusBadRequest {
		return false
	}
	fields, derr := ValidationErrors(e.Body)
	if derr != nil {
		return false
	}
	for _, m := range fields["non_field_errors"] {
		if m == "No recovery flow set." || m == "Recovery flow not applicable to user" {
			return true
		}
	}
	return false
}

func userPath(pk int) string { return "core/users/" + strconv.Itoa(pk) + "/" }
