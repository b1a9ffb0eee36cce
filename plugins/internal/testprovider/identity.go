package testprovider

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/dezky/platform/plugins/sdk"
)

func (p *Provider) eventLocked(action, actor string) {
	p.events = append(p.events, sdk.IdentityEvent{
		ID: strconv.Itoa(len(p.events) + 1), Action: action, Actor: actor, ClientIP: "127.0.0.1", Time: time.Now().UTC(),
	})
}

func (p *Provider) userLocked(id string) (*sdk.User, error) {
	u, ok := p.users[id]
	if !ok {
		return nil, sdk.NotFound("user %q not found", id)
	}
	return u, nil
}

func (p *Provider) groupLocked(id string) (*sdk.Group, error) {
	g, ok := p.groups[id]
	if !ok {
		return nil, sdk.NotFound("group %q not found", id)
	}
	return g, nil
}

func (p *Provider) userCopyLocked(u *sdk.User) sdk.User {
	out := *u
	out.Attributes = maps.Clone(u.Attributes)
	out.GroupIDs = nil
	for gid, m := range p.members {
		if m[u.ID] {
			out.GroupIDs = append(out.GroupIDs, gid)
		}
	}
	sort.Strings(out.GroupIDs)
	return out
}

// EnsureGroup implements sdk.Identity.
func (p *Provider) EnsureGroup(_ context.Context, req sdk.EnsureGroupRequest) (sdk.Group, error) {
	if req.Name == "" {
		return sdk.Group{}, sdk.Invalid("group name is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.groups {
		if g.Name == req.Name {
			return *g, nil
		}
	}
	g := &sdk.Group{ID: p.nextID("group"), Name: req.Name, Attributes: maps.Clone(req.Attributes)}
	p.groups[g.ID] = g
	p.members[g.ID] = map[string]bool{}
	p.eventLocked("group_created", "system")
	return *g, nil
}

// CreateUser implements sdk.Identity.
func (p *Provider) CreateUser(_ context.Context, req sdk.CreateUserRequest) (sdk.User, error) {
	if req.Username == "" {
		return sdk.User{}, sdk.Invalid("username is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.users {
		if u.Username == req.Username {
			return p.userCopyLocked(u), nil
		}
	}
	for _, gid := range req.GroupIDs {
		if _, err := p.groupLocked(gid); err != nil {
			return sdk.User{}, err
		}
	}
	u := &sdk.User{
		ID: p.nextID("user"), Username: req.Username, Name: req.Name, Email: req.Email, Active: req.Active,
		Attributes: maps.Clone(req.Attributes),
	}
	p.users[u.ID] = u
	p.sessions[u.ID] = 1
	for _, gid := range req.GroupIDs {
		p.members[gid][u.ID] = true
	}
	p.eventLocked("model_created", req.Username)
	return p.userCopyLocked(u), nil
}

// GetUser implements sdk.Identity. Special IDs inject faults (see the
// package documentation).
func (p *Provider) GetUser(ctx context.Context, userID string) (sdk.User, error) {
	if ok, err := p.fault(ctx, userID); ok {
		return sdk.User{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u, err := p.userLocked(userID)
	if err != nil {
		return sdk.User{}, err
	}
	return p.userCopyLocked(u), nil
}

// UpdateUser implements sdk.Identity.
func (p *Provider) UpdateUser(_ context.Context, req sdk.UpdateUserRequest) (sdk.User, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, err := p.userLocked(req.ID)
	if err != nil {
		return sdk.User{}, err
	}
	if req.Name != nil {
		u.Name = *req.Name
	}
	if req.Email != nil {
		u.Email = *req.Email
	}
	if req.Active != nil {
		u.Active = *req.Active
	}
	if len(req.Attributes) > 0 && u.Attributes == nil {
		u.Attributes = map[string]string{}
	}
	maps.Copy(u.Attributes, req.Attributes)
	for _, k := range req.RemoveAttributes {
		delete(u.Attributes, k)
	}
	p.eventLocked("model_updated", u.Username)
	return p.userCopyLocked(u), nil
}

// DeleteUser implements sdk.Identity.
func (p *Provider) DeleteUser(_ context.Context, userID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, err := p.userLocked(userID)
	if err != nil {
		return err
	}
	delete(p.users, userID)
	delete(p.passwords, userID)
	delete(p.sessions, userID)
	for _, m := range p.members {
		delete(m, userID)
	}
	p.eventLocked("model_deleted", u.Username)
	return nil
}

// SetPassword implements sdk.Identity.
func (p *Provider) SetPassword(_ context.Context, req sdk.SetPasswordRequest) error {
	if req.Password == "" {
		return sdk.Invalid("password is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u, err := p.userLocked(req.UserID)
	if err != nil {
		return err
	}
	p.passwords[u.ID] = req.Password
	if req.Expired {
		if u.Attributes == nil {
			u.Attributes = map[string]string{}
		}
		u.Attributes["password_expired"] = "true"
	}
	p.eventLocked("password_set", u.Username)
	return nil
}

// RecoveryLink implements sdk.Identity.
func (p *Provider) RecoveryLink(_ context.Context, userID string) (sdk.RecoveryLink, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.userLocked(userID); err != nil {
		return sdk.RecoveryLink{}, err
	}
	if p.flow == nil {
		return sdk.RecoveryLink{OK: false, Reason: "no recovery flow configured"}, nil
	}
	return sdk.RecoveryLink{OK: true, URL: "https://id.test/if/flow/" + p.flow.Slug + "/?token=" + randomToken()}, nil
}

// AddGroupMember implements sdk.Identity.
func (p *Provider) AddGroupMember(_ context.Context, groupID, userID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.groupLocked(groupID); err != nil {
		return err
	}
	if _, err := p.userLocked(userID); err != nil {
		return err
	}
	p.members[groupID][userID] = true
	return nil
}

// RemoveGroupMember implements sdk.Identity.
func (p *Provider) RemoveGroupMember(_ context.Context, groupID, userID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.groupLocked(groupID); err != nil {
		return err
	}
	if _, err := p.userLocked(userID); err != nil {
		return err
	}
	delete(p.members[groupID], userID)
	return nil
}

// TerminateSessions implements sdk.Identity.
func (p *Provider) TerminateSessions(_ context.Context, userID string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.userLocked(userID); err != nil {
		return 0, err
	}
	n := p.sessions[userID]
	p.sessions[userID] = 0
	return n, nil
}

// CountAuthenticators implements sdk.Identity.
func (p *Provider) CountAuthenticators(_ context.Context, userID string) (sdk.AuthenticatorCount, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.userLocked(userID); err != nil {
		return sdk.AuthenticatorCount{}, err
	}
	return sdk.AuthenticatorCount{Total: 0, ByType: map[string]int{}}, nil
}

// CreateOIDCApp implements sdk.Identity.
func (p *Provider) CreateOIDCApp(_ context.Context, req sdk.CreateOIDCAppRequest) (sdk.OIDCApp, error) {
	if req.Slug == "" || req.GroupID == "" {
		return sdk.OIDCApp{}, sdk.Invalid("slug and group are required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.groupLocked(req.GroupID); err != nil {
		return sdk.OIDCApp{}, err
	}
	for _, a := range p.apps {
		if a.Slug == req.Slug {
			if a.GroupID != req.GroupID {
				return sdk.OIDCApp{}, sdk.Conflict("application %q is bound to another group", req.Slug)
			}
			out := *a
			out.ClientSecret = ""
			return out, nil
		}
	}
	a := &sdk.OIDCApp{
		ID: p.nextID("app"), Slug: req.Slug, Name: req.Name, GroupID: req.GroupID,
		ClientID: randomToken(), IssuerURL: "https://id.test/application/o/" + req.Slug + "/",
	}
	p.apps[a.ID] = a
	out := *a
	out.ClientSecret = randomToken()
	return out, nil
}

// DeleteOIDCApp implements sdk.Identity.
func (p *Provider) DeleteOIDCApp(_ context.Context, appID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.apps[appID]; !ok {
		return sdk.NotFound("application %q not found", appID)
	}
	delete(p.apps, appID)
	return nil
}

// EnsureRecoveryFlow implements sdk.Identity.
func (p *Provider) EnsureRecoveryFlow(context.Context) (sdk.RecoveryFlow, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.flow != nil {
		return *p.flow, nil
	}
	p.flow = &sdk.RecoveryFlow{ID: p.nextID("flow"), Slug: "default-recovery-flow"}
	out := *p.flow
	out.Created = true
	p.flow.Created = false
	return out, nil
}

// ListEvents implements sdk.Identity.
func (p *Provider) ListEvents(_ context.Context, req sdk.ListEventsRequest) (sdk.EventPage, error) {
	start := 0
	if req.Cursor != "" {
		n, err := strconv.Atoi(req.Cursor)
		if err != nil || n < 0 {
			return sdk.EventPage{}, sdk.Invalid("bad cursor %q", req.Cursor)
		}
		start = n
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 100
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	start = min(start, len(p.events))
	end := min(start+limit, len(p.events))
	next := strconv.Itoa(end)
	if end == start {
		next = req.Cursor
	}
	return sdk.EventPage{Events: slices.Clone(p.events[start:end]), NextCursor: next}, nil
}
