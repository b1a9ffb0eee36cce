package authentikapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
)

// Group is an authentik group (pk is a UUID).
type Group struct {
	PK          string         `json:"pk"`
	NumPK       int            `json:"num_pk"`
	Name        string         `json:"name"`
	IsSuperuser bool           `json:"is_superuser"`
	Users       []int          `json:"users"`
	Attributes  map[string]any `json:"attributes"`
}

// FindGroup returns the group with that exact name, or a KindNotFound error.
func (c *Client) FindGroup(ctx context.Context, name string) (Group, error) {
	groups, err := listAll[Group](ctx, c, "find group", "core/groups/",
		url.Values{"name": {name}, "include_users": {"false"}})
	if err != nil {
		return Group{}, err
	}
	for _, g := range groups {
		if g.Name == name {
			return g, nil
		}
	}
	return Group{}, &Error{Op: "find group", Kind: KindNotFound, Message: "no such group"}
}

// EnsureGroup returns the group named name, creating it (with attrs) when missing.
// created reports whether this call created it. A concurrent create that wins the
// race is resolved by reading the group again.
func (c *Client) EnsureGroup(ctx context.Context, name string, attrs map[string]any) (g Group, created bool, err error) {
	g, err = c.FindGroup(ctx, name)
	if err == nil {
		return g, false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Group{}, false, err
	}
	body := map[string]any{"name": name, "is_superuser": false}
	if attrs != nil {
		body["attributes"] = attrs
	}
	err = c.do(ctx, "create group", http.MethodPost, "core/groups/", nil, body, &g)
	if errors.Is(err, ErrConflict) {
		g, err = c.FindGroup(ctx, name)
		return g, false, err
	}
	if err != nil {
		return Group{}, false, err
	}
	return g, true, nil
}

// GetGroup fetches a group by UUID (KindNotFound when absent).
func (c *Client) GetGroup(ctx context.Context, groupPK string) (Group, error) {
	var g Group
	err := c.do(ctx, "get group", http.MethodGet, "core/groups/"+url.PathEscape(groupPK)+"/", url.Values{"include_users": {"false"}}, nil, &g)
	return g, err
}

// DeleteGroup deletes a group by UUID (204).
func (c *Client) DeleteGroup(ctx context.Context, groupPK string) error {
	return c.do(ctx, "delete group", http.MethodDelete, "core/groups/"+url.PathEscape(groupPK)+"/", nil, nil, nil)
}

// AddGroupMember adds a user to a group (idempotent, 204). Unknown user or group is KindNotFound.
func (c *Client) AddGroupMember(ctx context.Context, groupPK string, userPK int) error {
	return c.do(ctx, "add group member", http.MethodPost, "core/groups/"+url.PathEscape(groupPK)+"/add_user/",
		nil, map[string]int{"pk": userPK}, nil)
}

// RemoveGroupMember removes a user from a group (idempotent, 204).
func (c *Client) RemoveGroupMember(ctx context.Context, groupPK string, userPK int) error {
	return c.do(ctx, "remove group member", http.MethodPost, "core/groups/"+url.PathEscape(groupPK)+"/remove_user/",
		nil, map[string]int{"pk": userPK}, nil)
}

// Session is an authenticated session.
type Session struct {
	UUID          string `json:"uuid"`
	Current       bool   `json:"current"`
	User          int    `json:"user"`
	LastIP        string `json:"last_ip"`
	LastUserAgent string `json:"last_user_agent"`
}

// TerminateSessions deletes every session of the user with pk and returns how many
// were ended. Sessions are listed by username (the only user filter authentik has)
// and then filtered on the numeric pk, so no other user's session is ever deleted.
func (c *Client) TerminateSessions(ctx context.Context, userPK int) (int, error) {
	u, err := c.GetUser(ctx, userPK)
	if err != nil {
		return 0, err
	}
	sessions, err := listAll[Session](ctx, c, "list sessions", "core/authenticated_sessions/",
		url.Values{"user__username": {u.Username}})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range sessions {
		if s.User != userPK {
			continue
		}
		err := c.do(ctx, "delete session", http.MethodDelete, "core/authenticated_sessions/"+url.PathEscape(s.UUID)+"/", nil, nil, nil)
		if errors.Is(err, ErrNotFound) {
			continue // ended concurrently
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Device is an MFA authenticator as listed by authenticators/admin/all/.
type Device struct {
	PK        string `json:"pk"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	Confirmed bool   `json:"confirmed"`
}

// Authenticators lists the user's MFA devices (an unpaginated array upstream).
func (c *Client) Authenticators(ctx context.Context, userPK int) ([]Device, error) {
	var out []Device
	if err := c.do(ctx, "list authenticators", http.MethodGet, "authenticators/admin/all/",
		url.Values{"user": {strconv.Itoa(userPK)}}, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// CountAuthenticators returns the number of MFA devices and how many are confirmed.
func (c *Client) CountAuthenticators(ctx context.Context, userPK int) (total, confirmed int, err error) {
	devs, err := c.Authenticators(ctx, userPK)
	if err != nil {
		return 0, 0, err
	}
	for _, d := range devs {
		if d.Confirmed {
			confirmed++
		}
	}
	return len(devs), confirmed, nil
}

func asError(err error, target **Error) bool { return errors.As(err, target) }
