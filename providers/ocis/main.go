// Command dezky-provider-ocis is the Dezky storage provider plugin. It serves
// sdk.Storage against the ownCloud Infinite Scale libregraph API through
// providers/ocis/ocisapi.
//
// Settings: "url" (required; the oCIS instance root), "audit_log_path"
// (optional; the audit service's JSON log file, AUDIT_FILEPATH with
// AUDIT_FORMAT=json — without it ReadAuditLog returns no lines), "space_alias_prefix"
// (optional, default "project/dezky-"), "oidc_token_url" and "oidc_client_id"
// (for refresh-token authentication). Secrets: either "token" (a bearer access
// token of a user holding the oCIS admin role) or "refresh_token" of such a
// service user (plus "oidc_client_secret" for a confidential client): oCIS has no
// client-credentials grant, so access tokens are minted with the refresh_token
// grant. A refresh token rotated by the IdP is kept in the plugin process only;
// after a plugin restart the configured one is used again, so configure the IdP
// client without refresh-token rotation or reconfigure the host after rotation.
//
// A tenant's space is identified by its driveAlias "<space_alias_prefix><TenantKey>",
// so renaming a space never loses it; space IDs are oCIS drive ids. Storage user
// IDs are oCIS user ids. Audit cursors are "<inode>:<byte offset>" and survive log
// rotation and truncation.
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/internal/upstream"
	"github.com/dezky/platform/providers/ocis/ocisapi"
)

const (
	providerName    = "ocis"
	providerVersion = "1.0.0"
	defaultAuditMax = 1000
)

func main() { sdk.Serve(&provider{}) }

type provider struct {
	conf    sdk.Configured[config]
	ensures sdk.KeyLock // one EnsureSpace per alias at a time: find-then-create is not atomic in oCIS
}

// config is what Configure sets up: the API client and the settings.
type config struct {
	*ocisapi.Client
	auditPath   string
	aliasPrefix string
}

var (
	_ sdk.Provider = (*provider)(nil)
	_ sdk.Storage  = (*provider)(nil)
)

func (p *provider) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: providerName, Version: providerVersion,
		Capabilities: []sdk.Capability{sdk.CapabilityStorage}, ProtocolVersion: sdk.ProtocolVersion}, nil
}

func (p *provider) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	if req.Settings["url"] == "" {
		return sdk.Invalid("setting url is required")
	}
	var tokens ocisapi.TokenSource
	switch {
	case req.Secrets["token"] != "":
		tokens = ocisapi.StaticToken(req.Secrets["token"])
	case req.Secrets["refresh_token"] != "":
		rts, err := ocisapi.NewRefreshTokenSource(req.Settings["oidc_token_url"], req.Settings["oidc_client_id"],
			req.Secrets["refresh_token"], ocisapi.WithClientSecret(req.Secrets["oidc_client_secret"]),
			ocisapi.WithRotationHook(func(ctx context.Context, _ string) error {
				sdk.Logger().InfoContext(ctx, "oCIS refresh token rotated by the IdP; kept in memory")
				return nil
			}))
		if err != nil {
			return sdk.Errorf(sdk.CodeInvalid, "configure refresh-token authentication: %w", err)
		}
		tokens = rts
	default:
		return sdk.Invalid("secret token or refresh_token is required")
	}
	c, err := ocisapi.New(req.Settings["url"], tokens, ocisapi.WithLogger(sdk.Logger()))
	if err != nil {
		return sdk.Errorf(sdk.CodeInvalid, "configure: %w", err)
	}
	prefix := req.Settings["space_alias_prefix"]
	if prefix == "" {
		prefix = "project/dezky-"
	}
	p.conf.Set(config{Client: c, auditPath: req.Settings["audit_log_path"], aliasPrefix: prefix})
	return nil
}

func (p *provider) Health(ctx context.Context) (sdk.HealthStatus, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.HealthStatus{Healthy: false, Message: "not configured"}, nil
	}
	if err := c.Ping(ctx); err != nil {
		return sdk.HealthStatus{Healthy: false, Message: err.Error()}, nil
	}
	return sdk.HealthStatus{Healthy: true, Message: "oCIS graph API reachable"}, nil
}

// toSDK maps client errors onto SDK error codes.
func toSDK(err error) error { return upstream.ToSDK(err) }

func toSpace(d ocisapi.Drive, tenantKey string) sdk.Space {
	s := sdk.Space{ID: d.ID, TenantKey: tenantKey, Name: d.Name, Disabled: d.Disabled()}
	if d.Quota != nil {
		s.QuotaBytes = d.Quota.Total
	}
	return s
}

func (p *provider) EnsureSpace(ctx context.Context, req sdk.EnsureSpaceRequest) (sdk.Space, error) {
	if strings.TrimSpace(req.TenantKey) == "" {
		return sdk.Space{}, sdk.Invalid("tenant key is required")
	}
	if req.QuotaBytes < 0 {
		return sdk.Space{}, sdk.Invalid("negative quota")
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = req.TenantKey
	}
	if !ocisapi.ValidSpaceName(name) {
		return sdk.Space{}, sdk.Invalid("space name %q contains characters oCIS forbids", name)
	}
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Space{}, err
	}
	alias := c.aliasPrefix + req.TenantKey
	defer p.ensures.Lock(alias)()
	d, err := c.FindProjectSpaceByAlias(ctx, alias)
	if errors.Is(err, ocisapi.ErrNotFound) {
		d, err = c.CreateProjectSpace(ctx, ocisapi.SpaceSpec{Name: name, QuotaBytes: req.QuotaBytes, Alias: alias})
		if err != nil {
			return sdk.Space{}, toSDK(err)
		}
		return toSpace(d, req.TenantKey), nil
	}
	if err != nil {
		return sdk.Space{}, toSDK(err)
	}
	if d.Disabled() {
		if d, err = c.RestoreSpace(ctx, d.ID); err != nil {
			return sdk.Space{}, toSDK(err)
		}
	}
	var upd ocisapi.SpaceUpdate
	if d.Name != name {
		upd.Name = &name
	}
	if d.Quota == nil || d.Quota.Total != req.QuotaBytes {
		q := req.QuotaBytes
		upd.QuotaBytes = &q
	}
	if upd.Name != nil || upd.QuotaBytes != nil {
		if d, err = c.UpdateSpace(ctx, d.ID, upd); err != nil {
			return sdk.Space{}, toSDK(err)
		}
	}
	return toSpace(d, req.TenantKey), nil
}

func (p *provider) GetUsage(ctx context.Context, spaceID string) (sdk.Usage, error) {
	c, err := p.conf.Get()
	if err != nil {
		return sdk.Usage{}, err
	}
	q, err := c.Usage(ctx, spaceID)
	if err != nil {
		return sdk.Usage{}, toSDK(err)
	}
	return sdk.Usage{Total: q.Total, Used: q.Used, Remaining: q.Remaining, State: q.State}, nil
}

func (p *provider) SetQuota(ctx context.Context, spaceID string, quotaBytes int64) error {
	if quotaBytes < 0 {
		return sdk.Invalid("negative quota")
	}
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	_, err = c.SetQuota(ctx, spaceID, quotaBytes)
	return toSDK(err)
}

func (p *provider) DisableSpace(ctx context.Context, spaceID string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	return toSDK(c.DisableSpace(ctx, spaceID))
}

func (p *provider) DeleteSpace(ctx context.Context, spaceID string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	return toSDK(c.DeleteSpace(ctx, spaceID))
}

func toStorageUser(u ocisapi.User) sdk.StorageUser {
	return sdk.StorageUser{ID: u.ID, Username: u.OnPremisesSamAccountName, Name: u.DisplayName, Email: u.Mail}
}

func (p *provider) CreateStorageUser(ctx context.Context, req sdk.CreateStorageUserRequest) (sdk.StorageUser, error) {
	if strings.TrimSpace(req.Username) == "" {
		return sdk.StorageUser{}, sdk.Invalid("username is required")
	}
	c, err := p.conf.Get()
	if err != nil {
		return sdk.StorageUser{}, err
	}
	if u, err := c.GetUser(ctx, req.Username); err == nil {
		return toStorageUser(u), nil
	} else if !errors.Is(err, ocisapi.ErrNotFound) {
		return sdk.StorageUser{}, toSDK(err)
	}
	name := req.Name
	if name == "" {
		name = req.Username
	}
	u, err := c.CreateUser(ctx, ocisapi.NewUser{Username: req.Username, DisplayName: name, Mail: req.Email})
	if errors.Is(err, ocisapi.ErrConflict) {
		u, err = c.GetUser(ctx, req.Username)
	}
	if err != nil {
		return sdk.StorageUser{}, toSDK(err)
	}
	return toStorageUser(u), nil
}

func (p *provider) DeleteStorageUser(ctx context.Context, userID string) error {
	c, err := p.conf.Get()
	if err != nil {
		return err
	}
	return toSDK(c.DeleteUser(ctx, userID))
}

func (p *provider) ReadAuditLog(ctx context.Context, req sdk.ReadAuditLogRequest) (sdk.AuditLogPage, error) {
	c, _ := p.conf.Get() // unconfigured: no audit log path, so an empty page
	path := c.auditPath
	page := sdk.AuditLogPage{NextCursor: req.Cursor}
	if path == "" {
		return page, nil
	}
	cur, err := ocisapi.ParseAuditCursor(req.Cursor)
	if err != nil {
		return page, sdk.Errorf(sdk.CodeInvalid, "%w", err)
	}
	max := req.Max
	if max <= 0 {
		max = defaultAuditMax
	}
	recs, next, err := ocisapi.ReadAuditLog(path, cur, max)
	if err != nil {
		return page, sdk.Errorf(sdk.CodeUnavailable, "%w", err)
	}
	for _, r := range recs {
		if r.Err != nil {
			sdk.Logger().WarnContext(ctx, "ocis audit line not parseable", "position", r.ExternalID, "error", r.Err)
		}
		if r.Raw != "" {
			page.Lines = append(page.Lines, r.Raw)
			page.LineIDs = append(page.LineIDs, r.ExternalID)
		}
	}
	if len(recs) > 0 || req.Cursor != "" {
		page.NextCursor = next.String()
	}
	return page, nil
}
