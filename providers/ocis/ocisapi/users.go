package ocisapi

import (
	"context"
	"net/http"
	"net/url"
)

// User is a libregraph user.
type User struct {
	ID                       string `json:"id"`
	DisplayName              string `json:"displayName"`
	Mail                     string `json:"mail"`
	OnPremisesSamAccountName string `json:"onPremisesSamAccountName"`
	AccountEnabled           *bool  `json:"accountEnabled,omitempty"`
	UserType                 string `json:"userType"`
}

// NewUser describes a user to create.
type NewUser struct {
	Username    string // onPremisesSamAccountName
	DisplayName string
	Mail        string
	Password    string
}

// CreateUser creates a user. oCIS answers 200 (the spec says 201); both are
// accepted. A taken username is KindConflict.
func (c *Client) CreateUser(ctx context.Context, u NewUser) (User, error) {
	if u.Username == "" || u.DisplayName == "" {
		return User{}, &Error{Op: "create user", Kind: KindInvalid, Message: "username and display name are required"}
	}
	body := map[string]any{"onPremisesSamAccountName": u.Username, "displayName": u.DisplayName}
	if u.Mail != "" {
		body["mail"] = u.Mail
	}
	if u.Password != "" {
		body["passwordProfile"] = map[string]any{"password": u.Password, "forceChangePasswordNextSignIn": false}
	}
	var out User
	err := c.do(ctx, "create user", http.MethodPost, "/users", nil, nil, body, &out)
	return out, err
}

// GetUser fetches a user by id or username.
func (c *Client) GetUser(ctx context.Context, idOrName string) (User, error) {
	var out User
	err := c.do(ctx, "get user", http.MethodGet, "/users/"+url.PathEscape(idOrName), nil, nil, nil, &out)
	return out, err
}

// SetUserEnabled enables or disables login for a user.
func (c *Client) SetUserEnabled(ctx context.Context, idOrName string, enabled bool) (User, error) {
	var out User
	err := c.do(ctx, "set user enabled", http.MethodPatch, "/users/"+url.PathEscape(idOrName), nil, nil,
		map[string]any{"accountEnabled": enabled}, &out)
	return out, err
}

// DeleteUser deletes a user (204); oCIS also removes the user's personal space.
func (c *Client) DeleteUser(ctx context.Context, idOrName string) error {
	return c.do(ctx, "delete user", http.MethodDelete, "/users/"+url.PathEscape(idOrName), nil, nil, nil, nil)
}
