// Command dezky-provider-authentik is the Dezky identity provider plugin. It
// serves sdk.Identity against the Authentik admin API (v3) through the typed
// client in providers/authentik/client.
//
// Settings: "url" (required; the Authentik instance root or its /api/v3 URL),
// "recovery_token_duration" (optional authentik duration such as "days=1";
// recovery links are requested with it and report their expiry from it,
// without it authentik's default applies and the expiry is unknown),
// "authorization_flow" and "invalidation_flow" (optional flow slugs for OIDC
// providers; authentik's defaults otherwise). Secrets: "token" (required; an
// API token with intent "api" of a superuser).
//
// IDs: user IDs are authentik's numeric user pk in decimal, group IDs the
// group UUID, OIDC application IDs the application slug, recovery flow IDs the
// flow UUID. ListEvents cursors are "<created RFC3339Nano>|<event pk>".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/plugins/sdk"
	authentikapi "github.com/dezky/platform/providers/authentik/client"
	"github.com/dezky/platform/providers/internal/upstream"
)

const (
	providerName    = "authentik"
	providerVersion = "1.0.0"
)

func main() { sdk.Serve(&provider{}) }

type provider struct{ conf sdk.Configured[config] }

// config is what Configure sets up: the API client and the settings.
type config struct {
	*authentikapi.Client
	tokenDuration string
	authFlow      string
	invFlow       string
}

var (
	_ sdk.Provider = (*provider)(nil)
	_ sdk.Identity = (*provider)(nil)
)

func (p *provider) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: providerName, Version: providerVersion,
		Capabilities: []sdk.Capability{sdk.CapabilityIdentity}, ProtocolVersion: sdk.ProtocolVersion}, nil
}

func (p *provider) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	if req.Settings["url"] == "" {
		return sdk.Invalid("setting url is required")
	}
	if req.Secrets["token"] == "" {
		return sdk.Invalid("secret token is required")
	}
	if _, err := parseDuration(req.Settings["recovery_token_duration"]); err != nil {
		return sdk.Invalid("setting recovery_token_duration: %v: want for example \"days=1\" or \"hours=12;minutes=30\"", err)
	}
	c, err := authentikapi.New(req.Settings["url"], req.Secrets["token"], authentikapi.WithLogger(sdk.Logger()))
	if err != nil {
		return sdk.Errorf(sdk.CodeInvalid, "configure: %w", err)
	}
	p.conf.Set(config{Client: c, tokenDuration: req.Settings["recovery_token_duration"],
		authFlow: req.Settings["authorization_flow"], invFlow: req.Settings["invalidation_flow"]})
	return nil
}

func (p *provider) Health(ctx context.Context) (sdk.HealthStatus, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.HealthStatus{Healthy: false, Message: "not configured"}, nil
	}
	v, err := c.Ping(ctx)
	if err != nil {
		return sdk.HealthStatus{Healthy: false, Message: err.Error()}, nil
	}
	return sdk.HealthStatus{Healthy: true, Message: "authentik " + v.Current}, nil
}

// toSDK maps client errors onto SDK error codes.
func toSDK(err error) error { return upstream.ToSDK(err) }

func userPK(id string) (int, error) {
	pk, err := strconv.Atoi(id)
	if err != nil || pk <= 0 {
		return 0, sdk.NotFound("no user %q", id)
	}
	return pk, nil
}

func toAny(m map[string]string) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// toStrings flattens attribute values: strings as-is, everything else as JSON.
func toStrings(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		out[k] = string(b)
	}
	return out
}

func toUser(u authentikapi.User) sdk.User {
	return sdk.User{ID: strconv.Itoa(u.PK), Username: u.Username, Name: u.Name, Email: u.Email, Active: u.IsActive,
		Attributes: toStrings(u.Attributes), GroupIDs: append([]string(nil), u.Groups...)}
}

func (p *provider) EnsureGroup(ctx context.Context, req sdk.EnsureGroupRequest) (sdk.Group, error) {
	if strings.TrimSpace(req.Name) == "" {
		return sdk.Group{}, sdk.Invalid("group name is required")
	}
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Group{}, err
	}
	g, _, err := c.EnsureGroup(ctx, req.Name, toAny(req.Attributes))
	if err != nil {
		return sdk.Group{}, toSDK(err)
	}
	return sdk.Group{ID: g.PK, Name: g.Name, Attributes: toStrings(g.Attributes)}, nil
}

func (p *provider) CreateUser(ctx context.Context, req sdk.CreateUserRequest) (sdk.User, error) {
	if strings.TrimSpace(req.Username) == "" {
		return sdk.User{}, sdk.Invalid("username is required")
	}
	c, err := p.conf.Get()
	if err != nil {
		return sdk.User{}, err
	}
	existing, err := c.FindUserByUsername(ctx, req.Username)
	if err == nil {
		return toUser(existing), nil
	}
	if !errors.Is(err, authentikapi.ErrNotFound) {
		return sdk.User{}, toSDK(err)
	}
	u, err := c.CreateUser(ctx, authentikapi.NewUser{Username: req.Username, Name: req.Name, Email: req.Email,
		IsActive: req.Active, Groups: req.GroupIDs, Attributes: toAny(req.Attributes)})
	if errors.Is(err, authentikapi.ErrConflict) {
		// Created concurrently: return the winner.
		u, err = c.FindUserByUsername(ctx, req.Username)
	}
	if err != nil {
		return sdk.User{}, toSDK(err)
	}
	return toUser(u), nil
}

func (p *provider) GetUser(ctx context.Context, userID string) (sdk.User, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.User{}, err
	}
	pk, err := userPK(userID)
	if err != nil {
		return sdk.User{}, err
	}
	u, err := c.GetUser(ctx, pk)
	if err != nil {
		return sdk.User{}, toSDK(err)
	}
	return toUser(u), nil
}

func (p *provider) UpdateUser(ctx context.Context, req sdk.UpdateUserRequest) (sdk.User, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.User{}, err
	}
	pk, err := userPK(req.ID)
	if err != nil {
		return sdk.User{}, err
	}
	upd := authentikapi.UserUpdate{Name: req.Name, Email: req.Email, IsActive: req.Active}
	if len(req.Attributes)+len(req.RemoveAttributes) > 0 {
		upd.Attributes = map[string]any{}
		for k, v := range req.Attributes {
			upd.Attributes[k] = v
		}
		for _, k := range req.RemoveAttributes {
			upd.Attributes[k] = nil
		}
	}
	u, err := c.UpdateUser(ctx, pk, upd)
	if err != nil {
		return sdk.User{}, toSDK(err)
	}
	return toUser(u), nil
}

func (p *provider) DeleteUser(ctx context.Context, userID string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	pk, err := userPK(userID)
	if err != nil {
		return err
	}
	return toSDK(c.DeleteUser(ctx, pk))
}

func (p *provider) SetPassword(ctx context.Context, req sdk.SetPasswordRequest) error {
	if req.Password == "" {
		return sdk.Invalid("password is required")
	}
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	pk, err := userPK(req.UserID)
	if err != nil {
		return err
	}
	return toSDK(c.SetPassword(ctx, pk, req.Password, req.Expired))
}

func (p *provider) RecoveryLink(ctx context.Context, userID string) (sdk.RecoveryLink, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.RecoveryLink{}, err
	}
	pk, err := userPK(userID)
	if err != nil {
		return sdk.RecoveryLink{}, err
	}
	start := time.Now()
	link, ok, err := c.RecoveryLink(ctx, pk, c.tokenDuration)
	if err != nil {
		return sdk.RecoveryLink{}, toSDK(err)
	}
	if !ok {
		return sdk.RecoveryLink{OK: false, Reason: "authentik has no recovery flow usable for this user (brand flow_recovery unset or not applicable)"}, nil
	}
	out := sdk.RecoveryLink{OK: true, URL: link}
	// The token lives for the duration we asked for, counted from the
	// request; without one authentik applies its own default, which the
	// response does not state.
	if d, err := parseDuration(c.tokenDuration); err == nil && d > 0 {
		out.ExpiresAt = start.Add(d).UTC()
	}
	return out, nil
}

func (p *provider) AddGroupMember(ctx context.Context, groupID, userID string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	pk, err := userPK(userID)
	if err != nil {
		return err
	}
	return toSDK(c.AddGroupMember(ctx, groupID, pk))
}

func (p *provider) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	pk, err := userPK(userID)
	if err != nil {
		return err
	}
	return toSDK(c.RemoveGroupMember(ctx, groupID, pk))
}

func (p *provider) TerminateSessions(ctx context.Context, userID string) (int, error) {
	c, err := p.conf.Get()
	if err != nil {
		return 0, err
	}
	pk, err := userPK(userID)
	if err != nil {
		return 0, err
	}
	n, err := c.TerminateSessions(ctx, pk)
	return n, toSDK(err)
}

func (p *provider) CountAuthenticators(ctx context.Context, userID string) (sdk.AuthenticatorCount, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.AuthenticatorCount{}, err
	}
	pk, err := userPK(userID)
	if err != nil {
		return sdk.AuthenticatorCount{}, err
	}
	// The device list silently returns [] for unknown users; check the user first.
	if _, err := c.GetUser(ctx, pk); err != nil {
		return sdk.AuthenticatorCount{}, toSDK(err)
	}
	devs, err := c.Authenticators(ctx, pk)
	if err != nil {
		return sdk.AuthenticatorCount{}, toSDK(err)
	}
	out := sdk.AuthenticatorCount{Total: len(devs), ByType: map[string]int{}}
	for _, d := range devs {
		out.ByType[deviceKind(d.Type)]++
	}
	return out, nil
}

// deviceKind turns "authentik_stages_authenticator_totp.TOTPDevice" into "totp".
func deviceKind(label string) string {
	app, _, _ := strings.Cut(label, ".")
	if k, ok := strings.CutPrefix(app, "authentik_stages_authenticator_"); ok && k != "" {
		return k
	}
	if label == "" {
		return "unknown"
	}
	return label
}

func (p *provider) CreateOIDCApp(ctx context.Context, req sdk.CreateOIDCAppRequest) (sdk.OIDCApp, error) {
	if req.Slug == "" || req.GroupID == "" {
		return sdk.OIDCApp{}, sdk.Invalid("slug and group are required")
	}
	c, err := p.conf.Get()
	if err != nil {
		return sdk.OIDCApp{}, err
	}
	existing, err := c.GetOIDCApp(ctx, req.Slug)
	switch {
	case err == nil:
		if existing.GroupPK != req.GroupID {
			return sdk.OIDCApp{}, sdk.Conflict("application %q exists and is bound to another group", req.Slug)
		}
		return toApp(existing), nil
	case !errors.Is(err, authentikapi.ErrNotFound):
		return sdk.OIDCApp{}, toSDK(err)
	}
	if _, err := c.GetGroup(ctx, req.GroupID); err != nil {
		return sdk.OIDCApp{}, toSDK(fmt.Errorf("group %q: %w", req.GroupID, err))
	}
	name := req.Name
	if name == "" {
		name = req.Slug
	}
	app, err := c.CreateOIDCApp(ctx, authentikapi.OIDCAppSpec{Name: name, Slug: req.Slug, GroupPK: req.GroupID,
		RedirectURIs: req.RedirectURIs, LaunchURL: req.LaunchURL, AuthorizationFlowSlug: c.authFlow, InvalidationFlowSlug: c.invFlow})
	if err != nil {
		return sdk.OIDCApp{}, toSDK(err)
	}
	out := toApp(app)
	out.ClientSecret = app.ClientSecret
	return out, nil
}

func toApp(a authentikapi.OIDCApp) sdk.OIDCApp {
	return sdk.OIDCApp{ID: a.AppSlug, Slug: a.AppSlug, Name: a.Name, GroupID: a.GroupPK, ClientID: a.ClientID, IssuerURL: a.Issuer}
}

func (p *provider) DeleteOIDCApp(ctx context.Context, appID string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	if _, err := c.GetOIDCApp(ctx, appID); err != nil {
		return toSDK(err)
	}
	return toSDK(c.DeleteOIDCApp(ctx, appID))
}

func (p *provider) EnsureRecoveryFlow(ctx context.Context) (sdk.RecoveryFlow, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.RecoveryFlow{}, err
	}
	res, err := c.EnsureRecoveryFlow(ctx, authentikapi.RecoveryFlowSpec{})
	if err != nil {
		return sdk.RecoveryFlow{}, toSDK(err)
	}
	return sdk.RecoveryFlow{ID: res.Flow.PK, Slug: res.Flow.Slug, Created: res.CreatedFlow}, nil
}

// defaultEventLimit applies when ListEvents is called without a limit.
const defaultEventLimit = 100

func (p *provider) ListEvents(ctx context.Context, req sdk.ListEventsRequest) (sdk.EventPage, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.EventPage{}, err
	}
	cur, err := parseCursor(req.Cursor)
	if err != nil {
		return sdk.EventPage{}, err
	}
	limit := req.Limit
	if limit <= 0 {
		limit = defaultEventLimit
	}
	evs, next, err := c.ListEventsSince(ctx, cur, limit)
	if err != nil {
		return sdk.EventPage{}, toSDK(err)
	}
	page := sdk.EventPage{NextCursor: req.Cursor}
	if len(evs) > 0 {
		page.NextCursor = formatCursor(next)
	}
	for _, e := range evs {
		ie := sdk.IdentityEvent{ID: e.PK, Action: e.Action, Actor: e.User.Username, Time: e.Created, Attributes: map[string]string{}}
		if e.ClientIP != nil {
			ie.ClientIP = *e.ClientIP
		}
		var ctxMap map[string]any
		if len(e.Context) > 0 && json.Unmarshal(e.Context, &ctxMap) == nil {
			ie.Attributes = toStrings(ctxMap)
		}
		if e.App != "" {
			ie.Attributes["app"] = e.App
		}
		page.Events = append(page.Events, ie)
	}
	return page, nil
}

func formatCursor(c authentikapi.EventCursor) string {
	return c.Created.UTC().Format(time.RFC3339Nano) + "|" + c.PK
}

func parseCursor(s string) (authentikapi.EventCursor, error) {
	if s == "" {
		return authentikapi.EventCursor{}, nil
	}
	ts, pk, ok := strings.Cut(s, "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || pk == "" {
		return authentikapi.EventCursor{}, sdk.Invalid("malformed event cursor %q", s)
	}
	return authentikapi.EventCursor{Created: t, PK: pk}, nil
}

// parseDuration reads an authentik duration ("weeks=1;days=2;hours=3;
// minutes=4;seconds=5", any subset, ";"-separated); "" is 0.
func parseDuration(s string) (time.Duration, error) {
	units := map[string]time.Duration{
		"weeks": 7 * 24 * time.Hour, "days": 24 * time.Hour, "hours": time.Hour,
		"minutes": time.Minute, "seconds": time.Second, "milliseconds": time.Millisecond, "microseconds": time.Microsecond,
	}
	var d time.Duration
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		unit, known := units[strings.TrimSpace(k)]
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || !known || err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		d += time.Duration(n * float64(unit))
	}
	return d, nil
}
